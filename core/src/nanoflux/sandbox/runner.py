"""The first code that runs inside the sandbox, before the program's first line.

Run as ``python -s -P -B -c <this file's source> RESULT_FD CPU AS FSIZE TASKS UID FILTER_HEX``
(the sandbox reads the source once; nothing here is imported on the host side except by
tests). When bwrap ran as root (UID is not 0) it drops to UID and moves into a user
namespace of its own that maps nothing but UID (see :func:`drop_privileges`: the
supervisor writes the maps when the runner says ``MAP``); with 0, bwrap already mapped
us to an unprivileged user. Then it asks again to be killed when bwrap dies, sets the
rlimits, makes itself undumpable, forbids new privileges, installs the seccomp filter
(which keeps the program from cancelling that signal), says ``READY`` on the result
descriptor, and only then reads the program from stdin: a supervisor that moves the
process into a cgroup does so while it waits.
The last line it writes is the JSON report; the program can write lines of its own to the
same descriptor, so the host treats that line as untrusted input.

Only the standard library: the sandbox's imports are paid on every call.
"""

import builtins
import ctypes
import json
import math
import os
import resource
import signal
import sys
import traceback

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_READ, PR_CAPBSET_DROP = 1, 4, 23, 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET = 47, 1
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
PR_CAP_AMBIENT_CLEAR_ALL, CAPABILITY_VERSION_3 = 4, 0x20080522
CLONE_NEWUSER = 0x10000000
OPEN_FILES = 256  # bounds pipes and socket buffers, whose memory RLIMIT_AS does not count
MAX_ITEMS = 10_000
MAX_DEPTH = 20


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what} failed: {os.strerror(ctypes.get_errno())}")


def drop_privileges(uid: int, out, libc: ctypes.CDLL) -> str | None:
    """Become ``uid`` for good, in a user namespace that maps nothing else; an error
    message when that fails.

    Run as root, bwrap makes no user namespace (one made by root must map host root for
    bwrap to mount in it, and the program's uid_map would read ``0 0 1``), and
    starts us as host root with CAP_SETUID and CAP_SETGID alone. We make the namespace
    ourselves, while still root, so that root owns it: bwrap, which drops every
    capability but stays root, may then still send us the parent-death signal. Its maps
    say ``uid uid 1`` and nothing else; only a process of the parent namespace with
    CAP_SETUID may write that, so we ask the supervisor (``MAP`` on ``out``) and wait for
    its byte on stdin. Then we become ``uid`` and drop every capability the new namespace
    gave us, before the program's first line.
    """
    try:
        os.setgroups([])
        _check(libc.unshare(CLONE_NEWUSER), "unshare")
        out.write("MAP\n")
        out.flush()
        if os.read(0, 1) != b"1":
            return "the supervisor did not map the sandbox's user namespace"
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        _drop_capabilities(libc)
    except OSError as exc:
        return f"could not drop to uid {uid} in a namespace of its own: {exc}"
    # the sandbox has no /proc: the kernel is asked directly (the maps are the
    # supervisor's own writing, and setresuid to ``uid`` succeeds only where it is mapped)
    held = _capabilities(libc)
    ids = (os.getresuid(), os.getresgid(), os.getgroups())
    if ids != ((uid,) * 3, (uid,) * 3, []) or held:
        return f"could not drop to uid {uid}: uids, gids, groups {ids}, capabilities {held}"
    return None


def _capabilities(libc: ctypes.CDLL) -> list[str]:
    """The capability sets that still hold any capability."""
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(libc.capget(ctypes.byref(header), data), "capget")
    held = [name for name, _ in _CapData._fields_ if any(getattr(d, name) for d in data)]
    numbers = range(64)
    if any(libc.prctl(PR_CAPBSET_READ, n, 0, 0, 0) == 1 for n in numbers):
        held.append("bounding")
    if any(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, n, 0, 0) == 1 for n in numbers):
        held.append("ambient")
    return held


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Drop every capability: bounding set, ambient, then effective, permitted, inheritable."""
    for number in range(64):
        if libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) != 0:
            break  # EINVAL: past the last capability this kernel knows
    _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient caps")
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")


def die_with_parent(libc: ctypes.CDLL) -> str | None:
    """Be killed when bwrap dies (which dies with the supervisor). bwrap asked for this
    before exec, but the kernel forgets it when the uid changes: without it again, a
    supervisor killed mid-run would leave us running, pid 1 of a namespace nobody ends."""
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return f"prctl(PR_SET_PDEATHSIG) failed: errno {ctypes.get_errno()}"
    return None


def confine(
    cpu: int, memory: int, disk: int, tasks: int, bpf: bytes, libc: ctypes.CDLL
) -> str | None:
    """Limit this process for good; an error message when the kernel refuses."""
    limits = resource
    for limit, value in (
        (limits.RLIMIT_CPU, (cpu, cpu + 1)),
        (limits.RLIMIT_AS, (memory, memory)),
        (limits.RLIMIT_FSIZE, (disk, disk)),
        (limits.RLIMIT_CORE, (0, 0)),
        # counted per user namespace, so only this sandbox's threads count
        (limits.RLIMIT_NPROC, (tasks, tasks)),
        (limits.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES)),
    ):
        limits.setrlimit(limit, value)
    # The runner is pid 1 of its namespace, and the kernel drops signals that pid 1 has
    # no handler for: without this the soft CPU limit would be ignored until the hard one.
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(128 + signal.SIGXCPU))
    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    program = _Fprog(len(bpf) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    for args in (
        (PR_SET_DUMPABLE, 0),
        (PR_SET_NO_NEW_PRIVS, 1),
        (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(program)),
    ):
        if libc.prctl(*args, *([0] * (5 - len(args)))) != 0:
            return f"prctl{args[:2]!r} failed: errno {ctypes.get_errno()}"
    return None


def safe(value, depth=0):
    """``value`` as JSON-safe data: bounded in depth and length, every string valid UTF-8."""
    if depth > MAX_DEPTH:
        return repr(type(value))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _valid(value)
    if isinstance(value, int):
        try:
            json.dumps(value)
            return value
        except ValueError:
            return f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return safe(value.tolist(), depth + 1)
    if isinstance(value, (list, tuple)):
        return [safe(x, depth + 1) for x in value[:MAX_ITEMS]]
    if isinstance(value, (set, frozenset)):
        return sorted((safe(x, depth + 1) for x in value), key=str)[:MAX_ITEMS]
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ITEMS]
        return {_valid(str(k)): safe(x, depth + 1) for k, x in items}
    try:
        return _valid(str(value))
    except Exception:
        return repr(type(value))


def _valid(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:  # lone surrogates become U+FFFD; pairs stay one character
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def failure(exc: BaseException) -> dict:
    if isinstance(exc, MemoryError):
        return {"status": "memory", "error": "MemoryError: out of memory"}
    if isinstance(exc, SystemExit):
        return {"status": "exit", "error": f"SystemExit({exc.code!r})"}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "program.py"]
    where = f" (program.py line {frames[-1].lineno})" if frames else ""
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
    return {"status": "exception", "error": message + where}


def execute(source: str) -> dict:
    """Run the program; the report of what it did."""
    report = {"status": "ok", "has_solution": False}
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, "program.py", "exec"), namespace)
        solution = namespace.get("solution")
        if callable(solution):
            report["has_solution"] = True
            report["value"] = safe(solution())
    except SystemExit as exc:
        if exc.code not in (None, 0):
            report.update(failure(exc))
    except BaseException as exc:
        report.update(failure(exc))
    return report


def main(argv: list[str]) -> None:
    fd, cpu, memory, disk, tasks, uid = (int(a) for a in argv[:6])
    out = os.fdopen(fd, "w", encoding="utf-8", errors="replace")
    libc = _libc()
    error = (
        (drop_privileges(uid, out, libc) if uid else None)
        or die_with_parent(libc)
        or confine(cpu, memory, disk, tasks, bytes.fromhex(argv[6]), libc)
    )
    if error:
        out.write(json.dumps({"setup_error": error}) + "\n")
        out.flush()
        os._exit(70)
    out.write("READY\n")
    out.flush()
    source = sys.stdin.buffer.read().decode("utf-8", "replace")
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.argv = ["program.py"]
    report = execute(source)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    try:
        text = json.dumps(report)
    except Exception:
        text = json.dumps(
            {"status": "exception", "error": "solution() returned a value that cannot be reported"}
        )
    # a newline first: a line the program left unfinished must not swallow the report
    out.write("\n" + text + "\n")
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
