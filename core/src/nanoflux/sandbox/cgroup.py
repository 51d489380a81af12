"""A cgroup v2 per program, when this process may make one: memory.max and pids.max then
count what rlimits cannot (tmpfs pages, kernel memory, every task), and cgroup.kill ends
the whole sandbox at once.

A cgroup can be had when a cgroup v2 directory has the ``memory`` and ``pids``
controllers enabled for its children and we may write to it: the directory
``NANOFLUX_SANDBOX_CGROUP`` names (a delegated one, e.g. from ``systemd-run --user -p
Delegate=yes``), else our own cgroup. Anything else — cgroup v1, controllers not
delegated, no permission — means no cgroup, and the sandbox relies on its rlimits,
capped tmpfs mounts and the seccomp filter alone.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from pathlib import Path

CGROUP_VARIABLE = "NANOFLUX_SANDBOX_CGROUP"
_NEEDED = {"memory", "pids"}
_serial = itertools.count()


def delegated() -> Path | None:
    """The cgroup v2 directory the sandbox makes its children in, or None."""
    explicit = os.environ.get(CGROUP_VARIABLE)
    candidate = Path(explicit) if explicit else _own()
    if candidate is None:
        return None
    try:
        enabled = set((candidate / "cgroup.subtree_control").read_text().split())
    except OSError:
        return None
    return candidate if _NEEDED <= enabled and os.access(candidate, os.W_OK) else None


@functools.lru_cache(maxsize=1)
def _own() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    relative = next((line[3:] for line in lines if line.startswith("0::")), None)
    for mount in mounts:
        fields = mount.split(" - ")
        if relative is not None and len(fields) == 2 and fields[1].startswith("cgroup2 "):
            return Path(fields[0].split()[4]) / relative.lstrip("/")
    return None


class Cgroup:
    """One program's cgroup: made with its limits, given the sandbox's processes, removed."""

    def __init__(self, parent: Path, memory_bytes: int, tasks: int):
        self.path = parent / f"nanoflux-sandbox-{os.getpid()}-{next(_serial)}"
        self.path.mkdir()
        try:
            self._write("memory.max", memory_bytes)
            self._write("pids.max", tasks)
            if (self.path / "memory.swap.max").exists():
                self._write("memory.swap.max", 0)
        except OSError:
            self.path.rmdir()
            raise

    def _write(self, name: str, value: int | str) -> None:
        (self.path / name).write_text(f"{value}\n")

    def adopt(self, pid: int) -> None:
        """Move ``pid`` and every descendant (each with all its threads) into the cgroup."""
        for each in _family(pid):
            try:
                self._write("cgroup.procs", each)
            except ProcessLookupError:
                pass  # it ended meanwhile

    def out_of_memory(self) -> bool:
        try:
            events = (self.path / "memory.events").read_text().split()
        except OSError:
            return False
        counts = dict(zip(events[::2], events[1::2], strict=False))
        return int(counts.get("oom_kill", "0")) > 0

    def close(self) -> None:
        """Kill whatever is left in it and remove it."""
        try:
            if (self.path / "cgroup.kill").exists():
                self._write("cgroup.kill", 1)
        except OSError:
            pass
        for _ in range(50):  # the killed tasks leave the cgroup a moment after they die
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)


def _family(pid: int) -> list[int]:
    """``pid`` and its descendants, parents first, from /proc/PID/task/TID/children."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop(0)
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
            except OSError:
                continue
            queue += [int(child) for child in children]
    return found
