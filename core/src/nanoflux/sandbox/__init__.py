"""A sandbox for untrusted Python: the Attacker's programs and anything else a model wrote.

A program runs in a separate process under bubblewrap (``bwrap``) with every namespace
unshared (user, pid, net, ipc, uts, mount) and an empty environment, so no API key can
reach it; see :mod:`.bubblewrap` for what it sees and under which host uid it runs.
Inside, before the program's first line, :mod:`.runner` sets rlimits (CPU time, address
space, file size, tasks, open files, no core dumps) and installs the :mod:`.seccomp`
filter. Where a cgroup v2 can be had (:mod:`.cgroup`), memory.max and pids.max bound the
whole sandbox as well. The parent kills it at the wall-time limit or when it writes more
than the output limit, and waits until it is gone; if the parent dies first, the sandbox
dies with it. The parent reads the result defensively (:mod:`.channel`).

Where that isolation is unavailable (no bwrap, user namespaces refused, an architecture
without a syscall table here) :func:`run_python` raises :class:`SandboxUnavailable`; it
never runs code without the sandbox. ``NANOFLUX_BWRAP`` names another bwrap binary.
"""

from __future__ import annotations

import functools
import json
import os
import select
import selectors
import signal
import subprocess
import sys
import time
from typing import Any, Literal

from pydantic import Field

from ..errors import SandboxUnavailable, ToolError
from ..records import Record
from . import bubblewrap, cgroup
from .bubblewrap import BWRAP_VARIABLE, UID_VARIABLE, WORKDIR
from .cgroup import CGROUP_VARIABLE
from .channel import BadReport, read_report, valid_text
from .seccomp import seccomp_filter

__all__ = [
    "BWRAP_VARIABLE",
    "CGROUP_VARIABLE",
    "MAX_PROGRAM_BYTES",
    "UID_VARIABLE",
    "WORKDIR",
    "SandboxLimits",
    "SandboxResult",
    "describe",
    "program_value",
    "run_python",
    "sandbox_available",
    "sandbox_unavailable_reason",
    "seccomp_filter",
]

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
        default=32,
        ge=1,
        description="Size of each tmpfs (/sandbox, /tmp, /dev/shm) and of any file.",
    )
    max_tasks: int = Field(
        default=64, ge=1, le=4096, description="Threads at once (RLIMIT_NPROC, pids.max)."
    )

    def memory_bytes(self) -> int:
        """All the memory the sandbox may hold: address space plus its three tmpfs mounts."""
        return (self.memory_mb + 3 * self.disk_mb) * 1024 * 1024


Cause = Literal[
    "ok",
    "exception",
    "memory",
    "exit",
    "cpu_time",
    "wall_time",
    "output_limit",
    "killed",
    "bad_result",
]
Bound = Literal["cgroup", "rlimits"]


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
    bounded_by: Bound = Field(
        default="rlimits",
        description="cgroup: memory.max and pids.max held the whole sandbox; rlimits: "
        "RLIMIT_AS/NPROC, capped tmpfs and the seccomp filter did, without a cgroup.",
    )


def describe() -> dict[str, Any]:
    """How programs are contained on this machine: the facts the README's security model
    promises, as they are here."""
    uid = bubblewrap.host_uid()
    parent = cgroup.delegated()
    return {
        "bwrap": bubblewrap.bwrap(),
        "available": sandbox_available(),
        "host_uid": os.geteuid() if uid is None else uid,
        "bounded_by": "cgroup" if parent else "rlimits",
        "cgroup": str(parent) if parent else None,
    }


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


def run_python(
    code: str, *, limits: SandboxLimits | None = None, hash_seed: int = 0
) -> SandboxResult:
    """Run ``code`` in the sandbox. Its value is what ``solution()`` returns, if defined.
    ``hash_seed``: the interpreter's PYTHONHASHSEED (0: string hashes are not salted).

    Raises :class:`SandboxUnavailable` when the isolation cannot be set up; every failure
    of the program itself is a result with ``ok=False`` and a ``cause``.
    """
    code = valid_text(code)
    if len(code.encode("utf-8")) > MAX_PROGRAM_BYTES:
        raise SandboxUnavailable(
            f"program is {len(code)} characters; the sandbox takes at most {MAX_PROGRAM_BYTES}"
        )
    if not 0 <= hash_seed <= 4_294_967_295:
        raise ValueError(f"hash_seed {hash_seed} is not a PYTHONHASHSEED (0 to 4294967295)")
    return _run(code, limits or SandboxLimits(), hash_seed)


def _run(code: str, limits: SandboxLimits, hash_seed: int = 0) -> SandboxResult:
    if sys.platform != "linux":
        raise SandboxUnavailable("the sandbox needs Linux namespaces (bubblewrap)")
    binary = bubblewrap.bwrap()
    if binary is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed",
            hint="install the `bubblewrap` package (scripts/setup.sh does) or set NANOFLUX_BWRAP",
        )
    uid = bubblewrap.host_uid()
    group = _cgroup(limits)
    result_r, result_w = os.pipe()
    info_r, info_w = os.pipe()  # bwrap reports the runner's pid here
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            bubblewrap.command(binary, limits, result_w, info_w, uid, hash_seed),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(result_w, info_w),
            env={"PATH": "/usr/bin:/bin"},
            start_new_session=True,
        )
    except OSError as exc:
        for fd in (result_r, info_r):
            os.close(fd)
        if group:
            group.close()
        raise SandboxUnavailable(f"could not start bubblewrap: {exc}") from exc
    finally:
        for fd in (result_w, info_w):
            os.close(fd)
    runner = _Runner()
    try:
        runner.find(info_r, started + limits.wall_seconds)
        return _supervise(process, runner, result_r, code, limits, started, group, uid)
    finally:
        if process.poll() is None or runner.alive():
            _kill(process, runner)
        runner.close()
        if group:
            group.close()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream and not stream.closed:
                stream.close()
        os.close(result_r)


class _Runner:
    """The runner's host process, held by a pidfd, so that it can be killed and waited for
    although it is not our child (bwrap is) and a pid may be reused."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.fd: int | None = None

    def find(self, info_r: int, deadline: float) -> None:
        """Read bwrap's report of its child's pid. If bwrap failed before that there is
        no pid; we let it go on, and its stderr says why."""
        info = bytearray()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(info_r, selectors.EVENT_READ)
                while time.monotonic() < deadline and selector.select(deadline - time.monotonic()):
                    chunk = os.read(info_r, 4096)
                    if not chunk:
                        break
                    info += chunk
            pid = json.loads(info or b"{}").get("child-pid")
        except (OSError, ValueError) as exc:
            raise SandboxUnavailable(f"could not read bubblewrap's report: {exc}") from exc
        finally:
            os.close(info_r)
        if isinstance(pid, int) and pid > 0:
            self.pid = pid
            try:
                self.fd = os.pidfd_open(pid)
            except (OSError, AttributeError):
                self.fd = None  # gone already, or a kernel before 5.3: bwrap's death ends it

    def map_to(self, uid: int) -> None:
        """Map the user namespace the runner made (as root) to host ``uid`` alone: only
        a process of its parent namespace with CAP_SETUID, such as us, may."""
        if self.pid is None:
            raise SandboxUnavailable("bubblewrap did not report the sandbox's pid")
        try:
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{uid} {uid} 1"),
                ("gid_map", f"{uid} {uid} 1"),
            ):
                with open(f"/proc/{self.pid}/{name}", "w") as map_file:
                    map_file.write(text)
        except OSError as exc:
            raise SandboxUnavailable(f"could not map the sandbox's user namespace: {exc}") from exc

    def alive(self) -> bool:
        return self.fd is not None and not select.select([self.fd], [], [], 0)[0]

    def kill(self) -> None:
        """SIGKILL: it is pid 1 of its pid namespace, so everything inside goes with it."""
        if self.fd is not None:
            try:
                signal.pidfd_send_signal(self.fd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, seconds: float) -> None:
        if self.fd is not None:
            select.select([self.fd], [], [], seconds)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _cgroup(limits: SandboxLimits) -> cgroup.Cgroup | None:
    parent = cgroup.delegated()
    if parent is None:
        return None
    try:
        return cgroup.Cgroup(parent, limits.memory_bytes(), limits.max_tasks + 2)
    except OSError:
        return None  # a cgroup we may not make after all: the rlimits still hold


def _kill(process: subprocess.Popen, runner: _Runner) -> None:
    # The runner first: bwrap's death reaches it only through the parent-death signal it
    # asked for, which is a second line of defence, not the first.
    runner.kill()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    runner.wait(5.0)  # SIGKILL is not refused: this returns as soon as it has died


def _supervise(
    process: subprocess.Popen,
    runner: _Runner,
    result_r: int,
    code: str,
    limits: SandboxLimits,
    started: float,
    group: cgroup.Cgroup | None,
    uid: int | None,
) -> SandboxResult:
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
    waiting = True  # for the runner's READY, before the program is sent
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
        if waiting:
            waiting, uid = _handshake(
                process, runner, buffers, result_r in open_fds, uid, group, code
            )
        if overflow:
            break
    selector.close()
    if waiting:
        _send(process, "")
    if timed_out or overflow:
        _kill(process, runner)
    else:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(process, runner)
    seconds = time.monotonic() - started
    result = _interpret(process.returncode, buffers, limits, seconds, timed_out, overflow)
    return _bounded(result, group, limits) if group else result


def _bounded(result: SandboxResult, group: cgroup.Cgroup, limits: SandboxLimits) -> SandboxResult:
    """``result`` of a sandbox its cgroup held: a kill there is its memory limit's."""
    result.bounded_by = "cgroup"
    if not result.ok and result.cause == "killed" and group.out_of_memory():
        result.cause = "memory"
        result.error = f"killed at the memory limit of {limits.memory_bytes()} bytes"
    return result


def _handshake(
    process: subprocess.Popen,
    runner: _Runner,
    buffers: dict[str, bytearray],
    result_open: bool,
    uid: int | None,
    group: cgroup.Cgroup | None,
    code: str,
) -> tuple[bool, int | None]:
    """Answer the runner before its program: map its namespace when it asks (as root),
    send the program once it is READY (or gone). (Still waiting, the uid still to map.)"""
    if uid is not None and buffers["result"].startswith(b"MAP\n"):
        del buffers["result"][:4]  # as root: the runner waits for its namespace's maps
        runner.map_to(uid)
        uid = None
        _signal(process)
    ready = buffers["result"].startswith(b"READY\n")
    if not (ready or not result_open):
        return True, uid
    if group and ready:
        group.adopt(process.pid)
    _send(process, code)
    return False, uid


def _send(process: subprocess.Popen, code: str) -> None:
    # A pipe holds 64 KiB; a larger program blocks until the runner reads it, which it
    # does at once: the runner has nothing else to do by now.
    try:
        process.stdin.write(code.encode("utf-8"))
        process.stdin.close()
    except BrokenPipeError:
        pass  # bwrap failed before reading it; its stderr says why


def _signal(process: subprocess.Popen) -> None:
    try:
        process.stdin.write(b"1")
        process.stdin.flush()
    except BrokenPipeError:
        pass  # the runner died meanwhile; its stderr or exit status says why


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
    channel = bytes(buffers["result"])
    ready = channel.startswith(b"READY\n")
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
        first = channel.split(b"\n", 1)[0][:300].decode("utf-8", "replace")
        detail = first or (stderr.strip().splitlines() or ["no output"])[-1]
        raise SandboxUnavailable(
            f"the sandbox could not start: {detail}",
            hint="bubblewrap needs unprivileged user namespaces (or root)",
        )
    try:
        report = read_report(channel[len(b"READY\n") :])
    except BadReport as exc:
        return failed("bad_result", str(exc))
    if report is None:
        return failed(*_exit_cause(returncode, limits))
    status = report.get("status")
    if status == "ok":
        return SandboxResult(
            ok=True,
            cause="ok",
            value=report.get("value"),
            has_solution=report.get("has_solution") is True,
            **common,
        )
    cause = status if status in ("exception", "memory", "exit") else "exception"
    return failed(cause, str(report.get("error") or status)[:4000])


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


def program_value(code: str, *, limits: SandboxLimits | None = None, hash_seed: int = 0) -> Any:
    """What a ``*.python`` judge tool reports: solution()'s value, else the stripped stdout.

    A failed program raises :class:`ToolError` naming the cause, so the tool's result is
    ``ok=false`` with that error; so does an unavailable sandbox.
    """
    result = run_python(code, limits=limits, hash_seed=hash_seed)
    if not result.ok:
        raise ToolError(f"program failed ({result.cause}): {result.error}")
    return result.value if result.has_solution else result.stdout.strip()
