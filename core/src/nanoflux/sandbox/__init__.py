"""A sandbox for untrusted Python: the Attacker's programs and anything else a model wrote.

A program runs in a separate process under bubblewrap (``bwrap``) with every namespace
unshared (user, pid, net, ipc, uts, mount): no network, no view of the host's processes,
a read-only filesystem that holds only the interpreter and its site-packages, and two
size-capped tmpfs mounts (``/sandbox``, its working directory, and ``/tmp``) that vanish
with it. Inside, before the program's first line, a runner sets rlimits (CPU time,
address space, file size, no core dumps) and installs a seccomp filter that refuses
process creation (fork, vfork, clone without CLONE_THREAD, execve), non-Unix sockets,
ptrace, namespaces, mounts, bpf and io_uring. The parent kills it at the wall-time limit
or when it writes more than the output limit, and starts it with an empty environment,
so no API key can reach it.

Where that isolation is unavailable (no bwrap, user namespaces refused, an architecture
without a syscall table here) :func:`run_python` raises :class:`SandboxUnavailable`; it
never runs code without the sandbox. ``NANOFLUX_BWRAP`` names another bwrap binary.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import platform
import selectors
import shutil
import signal
import site
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from .errors import SandboxUnavailable, ToolError
from .records import Record

BWRAP_VARIABLE = "NANOFLUX_BWRAP"
WORKDIR = "/sandbox"
MAX_PROGRAM_BYTES = 1_000_000


class SandboxLimits(Record):
    """What one program may use. The defaults suit a judge checking a short computation."""

    cpu_seconds: int = Field(default=10, ge=1, le=600, description="CPU time (RLIMIT_CPU).")
    wall_seconds: float = Field(default=20.0, gt=0, le=600, description="Killed after this.")
    memory_mb: int = Field(default=1024, ge=128, description="Address space (RLIMIT_AS).")
    output_bytes: int = Field(
        default=256_000, ge=1024, description="stdout, stderr and the result, each."
    )
    disk_mb: int = Field(
        default=32, ge=1, description="Size of each tmpfs (/sandbox, /tmp) and of any file."
    )


Cause = Literal[
    "ok", "exception", "memory", "exit", "cpu_time", "wall_time", "output_limit", "killed"
]


class SandboxResult(Record):
    """What a program did. ``ok`` means it ran to the end without an error."""

    ok: bool
    cause: Cause
    value: Any = Field(default=None, description="What solution() returned, JSON-safe.")
    has_solution: bool = Field(default=False, description="The program defines solution().")
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0


# -- the seccomp filter -----------------------------------------------------------------

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# Syscall numbers: arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
_SYSCALLS = {
    "x86_64": {
        "socket": 41,
        "clone": 56,
        "fork": 57,
        "vfork": 58,
        "execve": 59,
        "ptrace": 101,
        "pivot_root": 155,
        "chroot": 161,
        "mount": 165,
        "umount2": 166,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "unshare": 272,
        "perf_event_open": 298,
        "setns": 308,
        "bpf": 321,
        "execveat": 322,
        "userfaultfd": 323,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "clone3": 435,
    },
    "aarch64": {
        "umount2": 39,
        "mount": 40,
        "pivot_root": 41,
        "chroot": 51,
        "unshare": 97,
        "ptrace": 117,
        "socket": 198,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "clone": 220,
        "execve": 221,
        "perf_event_open": 241,
        "setns": 268,
        "bpf": 280,
        "execveat": 281,
        "userfaultfd": 282,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "clone3": 435,
    },
}
_DENIED = (
    "fork",
    "vfork",
    "execve",
    "execveat",
    "ptrace",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
)
_EPERM, _ENOSYS = 1, 38
_CLONE_THREAD = 0x00010000
_AF_UNIX = 1
_RET_ALLOW, _RET_KILL, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06


def seccomp_filter(machine: str | None = None) -> bytes:
    """The classic-BPF program the runner installs, for this (or the named) architecture."""
    machine = machine or platform.machine()
    if machine not in _SYSCALLS:
        raise SandboxUnavailable(f"no seccomp syscall table for architecture {machine}")
    table = _SYSCALLS[machine]
    code: list[tuple[int, int | str, int | str, int]] = [
        (_LD_ABS_W, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, "kill", _AUDIT_ARCH[machine]),
        (_LD_ABS_W, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":  # the x32 ABI reuses numbers with bit 30 set
        code.append((_JGE, "kill", 0, 0x40000000))
    code += [(_JEQ, "eperm", 0, table[name]) for name in _DENIED if name in table]
    code += [
        # clone3 passes its flags in memory, which BPF cannot read: ENOSYS makes glibc
        # fall back to clone, whose flags we can check.
        (_JEQ, "enosys", 0, table["clone3"]),
        (_JEQ, "clone", 0, table["clone"]),
        (_JEQ, "socket", 0, table["socket"]),
        (_RET, 0, 0, _RET_ALLOW),
    ]
    labels = {"clone": len(code)}
    code += [(_LD_ABS_W, 0, 0, 16), (_JSET, "allow", "eperm", _CLONE_THREAD)]  # args[0]
    labels["socket"] = len(code)
    code += [(_LD_ABS_W, 0, 0, 16), (_JEQ, "allow", "eperm", _AF_UNIX)]
    for name, value in (
        ("allow", _RET_ALLOW),
        ("kill", _RET_KILL),
        ("eperm", _RET_ERRNO | _EPERM),
        ("enosys", _RET_ERRNO | _ENOSYS),
    ):
        labels[name] = len(code)
        code.append((_RET, 0, 0, value))

    def offset(target: int | str, at: int) -> int:
        return target if isinstance(target, int) else labels[target] - at - 1

    return b"".join(
        struct.pack("=HBBI", op, offset(jt, i), offset(jf, i), k)
        for i, (op, jt, jf, k) in enumerate(code)
    )


# -- the runner: the first code that runs inside the sandbox ----------------------------

_RUNNER = r"""
import builtins, ctypes, json, math, os, resource, sys, traceback
fd, cpu, memory, disk = (int(a) for a in sys.argv[1:5])
bpf = bytes.fromhex(sys.argv[5])
out = os.fdopen(fd, "w", encoding="utf-8")
source = sys.stdin.buffer.read().decode("utf-8", "replace")
null = os.open("/dev/null", os.O_RDONLY); os.dup2(null, 0); os.close(null)
R = resource
for limit, value in ((R.RLIMIT_CPU, (cpu, cpu + 1)), (R.RLIMIT_AS, (memory, memory)),
                     (R.RLIMIT_FSIZE, (disk, disk)), (R.RLIMIT_CORE, (0, 0))):
    R.setrlimit(limit, value)
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
buf = ctypes.create_string_buffer(bpf, len(bpf))
prog = Fprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
# PR_SET_DUMPABLE 0, PR_SET_NO_NEW_PRIVS 1, PR_SET_SECCOMP SECCOMP_MODE_FILTER
for args in ((4, 0), (38, 1), (22, 2, ctypes.addressof(prog))):
    if libc.prctl(*args, *([0] * (5 - len(args)))) != 0:
        error = "prctl%r failed: errno %d" % (args[:2], ctypes.get_errno())
        out.write(json.dumps({"setup_error": error}) + "\n")
        out.flush()
        os._exit(70)
out.write("READY\n"); out.flush()

def safe(v, depth=0):
    if depth > 20: return repr(type(v))
    if v is None or isinstance(v, (bool, str)): return v
    if isinstance(v, int):
        try: json.dumps(v); return v
        except ValueError: return "<integer of %d bits>" % v.bit_length()
    if isinstance(v, float): return v if math.isfinite(v) else str(v)
    if type(v).__module__ == "numpy" and hasattr(v, "tolist"):
        return safe(v.tolist(), depth + 1)
    if isinstance(v, (list, tuple)): return [safe(x, depth + 1) for x in v[:10000]]
    if isinstance(v, (set, frozenset)): return sorted((safe(x, depth + 1) for x in v), key=str)
    if isinstance(v, dict):
        return {str(k): safe(x, depth + 1) for k, x in list(v.items())[:10000]}
    try: return str(v)
    except Exception: return repr(type(v))

def failure(exc):
    if isinstance(exc, MemoryError):
        return {"status": "memory", "error": "MemoryError: out of memory"}
    if isinstance(exc, SystemExit):
        return {"status": "exit", "error": "SystemExit(%r)" % (exc.code,)}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "program.py"]
    where = " (program.py line %d)" % frames[-1].lineno if frames else ""
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
    return {"status": "exception", "error": message + where}

report = {"status": "ok", "has_solution": False}
namespace = {"__name__": "__main__", "__builtins__": builtins}
sys.argv = ["program.py"]
try:
    exec(compile(source, "program.py", "exec"), namespace)
    solution = namespace.get("solution")
    if callable(solution):
        report["has_solution"] = True
        report["value"] = safe(solution())
except SystemExit as exc:
    if exc.code not in (None, 0): report.update(failure(exc))
except BaseException as exc:
    report.update(failure(exc))
try:
    sys.stdout.flush(); sys.stderr.flush()
except BaseException:
    pass
try:
    text = json.dumps(report)
except Exception:
    error = "solution() returned a value that cannot be reported"
    text = json.dumps({"status": "exception", "error": error})
out.write(text + "\n"); out.flush()
os._exit(0)
"""


# -- what the sandbox can see -----------------------------------------------------------


def _bwrap() -> str | None:
    explicit = os.environ.get(BWRAP_VARIABLE)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("bwrap")


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
def _visible_paths() -> tuple[str, ...]:
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
    return tuple(kept)


def _command(bwrap: str, limits: SandboxLimits, result_fd: int) -> list[str]:
    tmpfs_bytes = str(limits.disk_mb * 1024 * 1024)
    command = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--new-session",
        "--die-with-parent",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        command += ["--ro-bind-try", path, path]
    # The empty /tmp comes before the interpreter's folders, so a virtualenv that
    # lives under /tmp is mounted on top of it instead of being hidden by it.
    command += ["--size", tmpfs_bytes, "--tmpfs", "/tmp"]
    for path in _visible_paths():
        if not path.startswith("/usr/"):
            command += ["--ro-bind", path, path]
    command += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        tmpfs_bytes,
        "--tmpfs",
        WORKDIR,
        "--remount-ro",
        "/",
        "--chdir",
        WORKDIR,
        "--clearenv",
        "--setenv",
        "HOME",
        WORKDIR,
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "LANG",
        "C.UTF-8",
        # one BLAS/OpenMP thread: pools of threads would eat the address-space limit
        "--setenv",
        "OPENBLAS_NUM_THREADS",
        "1",
        "--setenv",
        "OMP_NUM_THREADS",
        "1",
        "--setenv",
        "MKL_NUM_THREADS",
        "1",
        "--",
        sys.executable,
        "-I",
        "-B",
        "-c",
        _RUNNER,
        str(result_fd),
        str(limits.cpu_seconds),
        str(limits.memory_mb * 1024 * 1024),
        str(limits.disk_mb * 1024 * 1024),
        seccomp_filter().hex(),
    ]
    return command


# -- running ----------------------------------------------------------------------------


def sandbox_unavailable_reason() -> str | None:
    """Why untrusted code cannot run here, or None when the sandbox works."""
    return _probe()


def sandbox_available() -> bool:
    return _probe() is None


@functools.lru_cache(maxsize=1)
def _probe() -> str | None:
    try:
        result = _run("solution = lambda: 42", SandboxLimits(wall_seconds=30))
    except SandboxUnavailable as exc:
        return exc.one_line()
    if result.value != 42:
        return f"the sandbox probe did not run as expected: {result.cause} {result.error}"
    return None


def run_python(code: str, *, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` in the sandbox. Its value is what ``solution()`` returns, if defined.

    Raises :class:`SandboxUnavailable` when the isolation cannot be set up; every failure
    of the program itself is a result with ``ok=False`` and a ``cause``.
    """
    if len(code.encode("utf-8")) > MAX_PROGRAM_BYTES:
        raise SandboxUnavailable(
            f"program is {len(code)} characters; the sandbox takes at most {MAX_PROGRAM_BYTES}"
        )
    return _run(code, limits or SandboxLimits())


def _run(code: str, limits: SandboxLimits) -> SandboxResult:
    if sys.platform != "linux":
        raise SandboxUnavailable("the sandbox needs Linux namespaces (bubblewrap)")
    bwrap = _bwrap()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed",
            hint="install the `bubblewrap` package (scripts/setup.sh does) or set NANOFLUX_BWRAP",
        )
    result_r, result_w = os.pipe()
    command = _command(bwrap, limits, result_w)
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(result_w,),
            env={"PATH": "/usr/bin:/bin"},
            start_new_session=True,
        )
    except OSError as exc:
        os.close(result_r)
        os.close(result_w)
        raise SandboxUnavailable(f"could not start bubblewrap: {exc}") from exc
    os.close(result_w)
    try:
        return _supervise(process, result_r, code, limits, started)
    finally:
        if process.poll() is None:
            _kill(process)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream and not stream.closed:
                stream.close()
        os.close(result_r)


def _kill(process: subprocess.Popen) -> None:
    # bwrap's children die with it (--die-with-parent, and the pid namespace goes with them)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _supervise(
    process: subprocess.Popen, result_r: int, code: str, limits: SandboxLimits, started: float
) -> SandboxResult:
    try:
        process.stdin.write(code.encode("utf-8"))
        process.stdin.close()
    except BrokenPipeError:
        pass  # bwrap failed before reading it; its stderr says why
    streams = {process.stdout.fileno(): "stdout", process.stderr.fileno(): "stderr"}
    streams[result_r] = "result"
    buffers = {name: bytearray() for name in streams.values()}
    selector = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    deadline = started + limits.wall_seconds
    overflow: str | None = None
    timed_out = False
    open_fds = set(streams)
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        for key, _ in selector.select(timeout=min(remaining, 0.5)):
            chunk = os.read(key.fd, 65536)
            name = streams[key.fd]
            if not chunk:
                selector.unregister(key.fd)
                open_fds.discard(key.fd)
                continue
            buffers[name] += chunk
            if len(buffers[name]) > limits.output_bytes:
                overflow = name
        if overflow:
            break
    selector.close()
    if timed_out or overflow:
        _kill(process)
    else:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(process)
    seconds = time.monotonic() - started
    return _interpret(process.returncode, buffers, limits, seconds, timed_out, overflow)


def _text(data: bytearray, limit: int) -> str:
    return bytes(data[:limit]).decode("utf-8", "replace")


def _interpret(
    returncode: int | None,
    buffers: dict[str, bytearray],
    limits: SandboxLimits,
    seconds: float,
    timed_out: bool,
    overflow: str | None,
) -> SandboxResult:
    stdout = _text(buffers["stdout"], limits.output_bytes)
    stderr = _text(buffers["stderr"], limits.output_bytes)
    lines = bytes(buffers["result"]).decode("utf-8", "replace").split("\n")
    ready = lines[0] == "READY"
    common = {"stdout": stdout, "stderr": stderr, "seconds": seconds, "exit_code": returncode}

    def failed(cause: str, error: str) -> SandboxResult:
        return SandboxResult(ok=False, cause=cause, error=error, **common)

    if timed_out:
        return failed("wall_time", f"killed after the wall-time limit of {limits.wall_seconds:g} s")
    if overflow:
        return failed(
            "output_limit", f"killed: {overflow} exceeded the limit of {limits.output_bytes} bytes"
        )
    if not ready:
        detail = lines[0][:300] if lines[0] else stderr.strip().splitlines()[-1:] or ["no output"]
        raise SandboxUnavailable(
            f"the sandbox could not start: {detail if isinstance(detail, str) else detail[0]}",
            hint="bubblewrap needs unprivileged user namespaces (or root)",
        )
    report = _report(lines[1:])
    if report is None:
        return failed(*_exit_cause(returncode, limits))
    status = report.get("status")
    if status == "ok":
        return SandboxResult(
            ok=True,
            cause="ok",
            value=report.get("value"),
            has_solution=bool(report.get("has_solution")),
            **common,
        )
    cause = status if status in ("exception", "memory", "exit") else "exception"
    return failed(cause, str(report.get("error") or status))


def _report(lines: list[str]) -> dict[str, Any] | None:
    for line in reversed(lines):
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _exit_cause(returncode: int | None, limits: SandboxLimits) -> tuple[str, str]:
    """The program died before reporting: tell why from bwrap's exit status (128 + signal)."""
    if returncode is not None and returncode > 128:
        number = returncode - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGXCPU:
            return "cpu_time", f"killed at the CPU-time limit of {limits.cpu_seconds} s"
        if number == signal.SIGKILL:
            return "killed", "killed by SIGKILL (the CPU hard limit, or out of memory)"
        if number in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT):
            return "memory", f"crashed with {name} (often the memory limit)"
        return "killed", f"killed by {name}"
    return "exit", f"the program ended the interpreter (exit status {returncode}) before reporting"


def program_value(code: str, *, limits: SandboxLimits | None = None) -> Any:
    """What a ``*.python`` judge tool reports: solution()'s value, else the stripped stdout.

    A failed program raises :class:`ToolError` naming the cause, so the tool's result is
    ``ok=false`` with that error; so does an unavailable sandbox.
    """
    result = run_python(code, limits=limits)
    if not result.ok:
        raise ToolError(f"program failed ({result.cause}): {result.error}")
    return result.value if result.has_solution else result.stdout.strip()
