"""What the sandbox can see, and the bubblewrap command line that builds it.

The program runs as the only process of its own user, pid, network, IPC, UTS and mount
namespaces (``--as-pid-1``: no bwrap init without a seccomp filter shares its pid
namespace). It sees the interpreter, its site-packages and editable sources read-only,
a read-only /dev with /dev/null, /dev/zero and /dev/full alone, and three size-capped
tmpfs mounts: /sandbox (its working directory), /tmp and /dev/shm. There is no /proc
and no /sys: what they hold (uptimes, start times, mount ids, the kernel's random uuid)
differs from run to run and machine to machine, so nothing a program can read does, and
its value cannot depend on it. Its interpreter's string hashes are salted with the
``PYTHONHASHSEED`` the caller names (0 by default: not salted), so that two runs with
different seeds show a value that depends on them.

Whoever runs NanoFlux, the program's uid maps to an unprivileged host uid and its user
namespace maps no other id: its uid_map and gid_map, read from the host, hold one line
each, which names that uid and no host root. So root-owned files are not writable, and
RLIMIT_NPROC (which the kernel never enforces for host root) holds. Run by an ordinary
user, bwrap maps the sandbox's uid to that user (and /dev is built by hand: bwrap's
``--dev`` would map it to 0 of an intermediate namespace). Run as root, bwrap makes no
user namespace and stays root while it mounts, so an interpreter under a private home
such as /root can still be bound; the runner then makes a user namespace of its own,
which the supervisor maps to ``U`` alone (``SANDBOX_UID``: 65534, or
``NANOFLUX_SANDBOX_UID``), and drops to ``U`` (:func:`.runner.drop_privileges`).

bwrap reports the runner's host pid on an info descriptor: the supervisor kills the
runner itself at the wall-time limit instead of trusting bwrap's death to reach it
(``--new-session`` puts the runner outside bwrap's process group). When the supervisor
dies, bwrap dies (``--die-with-parent``), and the runner with it: it renews the
parent-death signal that its uid change cancelled, and the seccomp filter keeps the
program from cancelling it.
"""

from __future__ import annotations

import ast
import functools
import os
import shutil
import site
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SandboxUnavailable

if TYPE_CHECKING:
    from . import SandboxLimits

BWRAP_VARIABLE = "NANOFLUX_BWRAP"
UID_VARIABLE = "NANOFLUX_SANDBOX_UID"
SANDBOX_UID = 65534  # "nobody": owns nothing the sandbox can see
WORKDIR = "/sandbox"
RUNNER = Path(__file__).with_name("runner.py")


def bwrap() -> str | None:
    explicit = os.environ.get(BWRAP_VARIABLE)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("bwrap")


def host_uid() -> int | None:
    """The host uid to start bwrap under: None keeps ours, which is already unprivileged."""
    if os.geteuid() != 0:
        return None
    text = os.environ.get(UID_VARIABLE, str(SANDBOX_UID))
    if not text.isdigit() or int(text) == 0:
        raise SandboxUnavailable(
            f"{UID_VARIABLE}={text!r} is not an unprivileged uid",
            hint="name a uid other than 0 for sandboxed programs, or leave it unset for 65534",
        )
    return int(text)


@functools.lru_cache(maxsize=1)
def runner_source() -> str:
    return RUNNER.read_text("utf-8")


def _editable_paths(site_dir: Path) -> set[str]:
    """Directories that .pth files and setuptools' editable finders add to sys.path."""
    found: set[str] = set()
    for pth in site_dir.glob("*.pth"):
        for line in pth.read_text("utf-8", "replace").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                path = (site_dir / line).resolve()
                if path.is_dir():
                    found.add(str(path))
    for finder in site_dir.glob("__editable___*_finder.py"):
        try:
            tree = ast.parse(finder.read_text("utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "MAPPING" for t in node.targets
            ):
                try:
                    mapping = ast.literal_eval(node.value)
                except ValueError:
                    continue
                found.update(str(Path(p)) for p in mapping.values() if Path(p).exists())
    return found


@functools.lru_cache(maxsize=1)
def visible_paths() -> tuple[str, ...]:
    """The interpreter, its standard library and site-packages, and editable sources."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(str(Path(os.path.realpath(sys.executable)).parent))
    for site_dir in site.getsitepackages():
        if Path(site_dir).is_dir():
            paths.add(site_dir)
            paths |= _editable_paths(Path(site_dir))
    kept: list[str] = []
    for path in sorted(p for p in paths if p and Path(p).exists()):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(p for p in kept if not p.startswith("/usr/"))


def _folders_above(paths: tuple[str, ...]) -> list[str]:
    folders = {str(parent) for path in paths for parent in Path(path).parents}
    return sorted(folders - {"/", "/tmp"} - set(paths))


# no random or urandom: the kernel's getrandom() serves the interpreter itself
DEVICES = ("null", "zero", "full")


def _dev(writable: list[str]) -> list[str]:
    """/dev, built by hand: read-only, :data:`DEVICES`, and a capped /dev/shm.

    Not bwrap's ``--dev``: that one mounts a devpts, for which an unprivileged bwrap maps
    the sandbox's uid to 0 of an intermediate namespace, so the program would read
    ``65534 0 1`` in its uid_map; and its tmpfs is uncapped. A node the host lacks is
    left out, where ``--dev`` would fail. No /dev/fd or /dev/stdin: they would point
    into a /proc that is not there.
    """
    line = ["--perms", "0755", "--size", str(64 * 1024), "--tmpfs", "/dev"]
    for node in DEVICES:
        line += ["--dev-bind-try", f"/dev/{node}", f"/dev/{node}"]
    return [*line, *writable, "/dev/shm", "--remount-ro", "/dev"]


def command(
    binary: str,
    limits: SandboxLimits,
    result_fd: int,
    info_fd: int,
    drop_to: int | None = None,
    hash_seed: int = 0,
) -> list[str]:
    """The bwrap command line; bwrap reports the runner's pid on ``info_fd``. Without
    ``drop_to``, bwrap maps the sandbox's uid to ours. With it (we are root), bwrap makes
    no user namespace; the runner makes its own and drops to ``drop_to``. ``hash_seed``:
    the interpreter's PYTHONHASHSEED."""
    line = [binary, "--info-fd", str(info_fd), "--cap-drop", "ALL"]
    if drop_to is None:
        line += ["--unshare-all", "--unshare-user", "--disable-userns"]
        line += ["--uid", "65534", "--gid", "65534"]
    else:
        # every namespace but the user one (--unshare-all would try that one too)
        line += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        line += ["--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    line += ["--new-session", "--die-with-parent", "--as-pid-1", "--hostname", "sandbox"]
    line += [*_mounts(limits), "--chdir", WORKDIR, "--clearenv"]
    for name, value in environment(hash_seed).items():
        line += ["--setenv", name, value]
    return [*line, "--", *_interpreter(limits, result_fd, drop_to)]


def _mounts(limits: SandboxLimits) -> list[str]:
    """Everything the program sees, read-only but for three empty, capped tmpfs mounts."""
    line = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            line += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            line += ["--ro-bind", top, top]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        line += ["--ro-bind-try", path, path]
    # The empty /tmp comes before the interpreter's folders, so a virtualenv that
    # lives under /tmp is mounted on top of it instead of being hidden by it.
    writable = ["--perms", "1777", "--size", str(limits.disk_mb * 1024 * 1024), "--tmpfs"]
    line += [*writable, "/tmp"]
    # bwrap gives the folders it makes above a mount the host's modes: /root would be
    # 0700, and the interpreter under it out of the program's reach
    for folder in _folders_above(visible_paths()):
        line += ["--perms", "0755", "--dir", folder]
    for path in visible_paths():
        line += ["--ro-bind", path, path]
    return [*line, *_dev(writable), *writable, WORKDIR, "--remount-ro", "/"]


def environment(hash_seed: int = 0) -> dict[str, str]:
    """The program's whole environment: nothing of ours (no API key) reaches it."""
    return {
        "HOME": WORKDIR,
        "TMPDIR": "/tmp",
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": str(hash_seed),
        # one BLAS/OpenMP thread: pools of threads would eat the address-space limit
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _interpreter(limits: SandboxLimits, result_fd: int, drop_to: int | None) -> list[str]:
    from .seccomp import seccomp_filter

    return [
        sys.executable,
        # -I without its -E, which would ignore PYTHONHASHSEED: the environment is
        # cleared, so every variable the interpreter reads is one of :func:`environment`
        "-s",
        "-P",
        "-B",
        "-c",
        runner_source(),
        str(result_fd),
        str(limits.cpu_seconds),
        str(limits.memory_mb * 1024 * 1024),
        str(limits.disk_mb * 1024 * 1024),
        str(limits.max_tasks),
        str(drop_to or 0),
        seccomp_filter().hex(),
    ]
