"""The machine NanoFlux runs on: its CPUs, its clock, and the code it runs."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def available_cpus() -> int:
    """The CPUs this process may use (a container's share, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


SYSFS_CPUS = Path("/sys/devices/system/cpu")


def physical_cores(sysfs: Path = SYSFS_CPUS) -> int:
    """The physical cores among the CPUs this process may use: SMT siblings count once."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:  # not on Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        siblings = sysfs / f"cpu{cpu}" / "topology" / "thread_siblings_list"
        try:
            cores.add(siblings.read_text().strip())
        except OSError:  # no topology (some containers): every CPU is a core of its own
            cores.add(str(cpu))
    return max(1, len(cores))


def default_threads() -> int:
    """Threads for a compute library inside a run (llama.cpp, ONNX Runtime): the physical
    cores this process may use, llama.cpp's own rule.

    A run with one lane calls one model at a time, so that model may have every core. On
    a 2-core machine (no SMT) two threads instead of one made Qwen2.5-Coder-1.5B 1.9x
    faster, prompt and generation alike, and alternating calls between two models lost
    nothing (37 s for six replies against 69 s). SMT siblings add nothing to this
    arithmetic but spin. With ``lanes`` > 1 on a CPU, calls run at once and their threads
    wait for each other: give each model ``n_threads`` = cores / lanes.
    """
    return physical_cores()


def utc_now() -> str:
    """Now, in UTC, to the second: the timestamps of manifests and markers."""
    return datetime.now(UTC).isoformat(timespec="seconds")


#: where the core package lies in a checkout of NanoFlux's repository, and the folders
#: that hold the code a run executes (an experiment's records may change beside them)
CHECKOUT_PACKAGE = Path("core", "src", "nanoflux")
CODE_FOLDERS = ("core", "plugins", "domains")


def source_revision(package: Path = Path(__file__).parent) -> str | None:
    """The git commit of the repository checkout NanoFlux runs from (an editable
    install), ``+changes`` appended where its code differs from that commit; None for an
    installed distribution, without git, or when git cannot tell within 10 s. A run made
    over several sessions, with the code changing between them, records one per session.
    """
    package = package.resolve()
    try:
        top = _git(package, "rev-parse", "--show-toplevel")
        if top is None or package != Path(top).resolve() / CHECKOUT_PACKAGE:
            return None  # not NanoFlux's own checkout (a wheel inside a user's repository)
        commit = _git(package, "rev-parse", "HEAD")
        changed = _git(top, "status", "--porcelain", "--untracked-files=no", "--", *CODE_FOLDERS)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if commit is None:
        return None
    return commit + ("+changes" if changed else "")


def _git(where: Path | str, *args: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=10
    )
    return done.stdout.strip() if done.returncode == 0 else None
