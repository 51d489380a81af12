"""The first code that runs inside the sandbox, before the program's first line.

Run as ``python -I -B -c <this file's source> RESULT_FD CPU AS FSIZE TASKS UID FILTER_HEX``
(the sandbox reads the source once; nothing here is imported on the host side except by
tests). It drops to the unprivileged UID when bwrap ran as root (0: bwrap already
mapped us to an unprivileged user), sets the rlimits, makes itself undumpable, forbids
new privileges, installs the seccomp filter, says ``READY`` on the result descriptor,
and only then reads the program from stdin: a supervisor that moves the process into a
cgroup does so while it waits.
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

PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 4, 38, 22, 2
OPEN_FILES = 256  # bounds pipes and socket buffers, whose memory RLIMIT_AS does not count
MAX_ITEMS = 10_000
MAX_DEPTH = 20


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def drop_privileges(uid: int) -> str | None:
    """Become ``uid`` (and its group) for good; an error message when that fails."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    if os.getresuid() != (uid, uid, uid) or int(fields["CapPrm"], 16) != 0:
        return f"could not drop to uid {uid}: {fields['Uid'].split()} CapPrm {fields['CapPrm']}"
    return None


def confine(cpu: int, memory: int, disk: int, tasks: int, bpf: bytes) -> str | None:
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
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
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
    error = (drop_privileges(uid) if uid else None) or confine(
        cpu, memory, disk, tasks, bytes.fromhex(argv[6])
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
