"""Hostile programs against the sandbox: each is contained within its limits, the host is
unchanged, and benign programs still work. Runs the real bubblewrap sandbox; where bwrap
is installed (setup does it, CI runs as root) every probe must hold, never skip."""

from __future__ import annotations

import json
import os
import platform
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import nanoflux
from nanoflux import sandbox
from nanoflux.errors import SandboxUnavailable
from nanoflux.sandbox import SandboxLimits, run_python, seccomp_filter
from nanoflux.sandbox.seccomp import syscall_number

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None,  # installed by setup: then it must work
    reason=f"sandbox unavailable: {sandbox.sandbox_unavailable_reason()}",
)

# Tight limits keep the suite fast; each test checks the limit it is about.
FAST = SandboxLimits(cpu_seconds=2, wall_seconds=5, memory_mb=512, output_bytes=64_000)


def run(code: str, **limits):
    return run_python(code, limits=FAST.model_copy(update=limits))


# -- benign programs -------------------------------------------------------------------


def test_solution_return_value():
    result = run("def solution():\n    return 6 * 7")
    assert result.ok and result.has_solution and result.value == 42


def test_stdout_when_there_is_no_solution():
    result = run("print('hello')\nprint(3 / 4)")
    assert result.ok and not result.has_solution
    assert result.stdout == "hello\n0.75\n"


def test_values_become_json_safe():
    result = run(
        "from fractions import Fraction\n"
        "def solution():\n    return [Fraction(3, 4), 2.5, {'k': (1, 2)}, float('nan')]"
    )
    assert result.value == ["3/4", 2.5, {"k": [1, 2]}, "nan"]


def test_libraries_and_threads_work():
    code = (
        "import threading, sympy, numpy\n"
        "box = []\n"
        "t = threading.Thread(target=lambda: box.append(int(numpy.arange(5).sum())))\n"
        "t.start(); t.join()\n"
        "def solution():\n    return [box[0], str(sympy.Rational(1, 3) + 1)]"
    )
    assert run(code, cpu_seconds=10, wall_seconds=20, memory_mb=1024).value == [10, "4/3"]


def test_an_exception_is_reported_with_its_line():
    result = run("x = 1\nraise ValueError('boom')")
    assert not result.ok and result.cause == "exception"
    assert "ValueError: boom" in result.error and "line 2" in result.error


# -- hostile programs ------------------------------------------------------------------


def test_infinite_loop_hits_the_cpu_limit():
    result = run("while True:\n    pass", cpu_seconds=1, wall_seconds=10)
    assert not result.ok and result.cause == "cpu_time"
    assert result.seconds < 5


def test_memory_bomb_is_refused():
    result = run("hog = bytearray(4 * 1024**3)", memory_mb=256)
    assert not result.ok and result.cause == "memory"


def test_fork_bomb_cannot_fork():
    result = run("import os\nwhile True:\n    os.fork()")
    assert not result.ok and result.cause == "exception"
    assert "Operation not permitted" in result.error


def test_subprocess_cannot_spawn():
    for code in (
        "import subprocess\nsubprocess.run(['/bin/true'])",
        "import os\nos.posix_spawn('/bin/true', ['true'], {})",
        "import os\nos.execv('/bin/true', ['true'])",
    ):
        result = run(code)
        assert not result.ok and "Operation not permitted" in result.error, code


def test_raw_fork_syscall_is_refused_by_seccomp():
    # ctypes bypasses Python's wrappers: the kernel filter still says no (-1, EPERM)
    result = run(
        "import ctypes\nprint(ctypes.CDLL(None).syscall(57 if __import__('platform')"
        ".machine() == 'x86_64' else 220, 17, 0, 0, 0, 0))"
    )
    assert result.ok and result.stdout.strip() == "-1"


def test_socket_cannot_connect_to_the_host():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)")
        assert not result.ok and result.cause == "exception"
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    finally:
        listener.close()


def test_files_outside_the_workdir_cannot_be_written(tmp_path):
    inside_repo = Path(nanoflux.__file__).parent / "sandbox_escape.py"
    for target in (inside_repo, Path("/etc/sandbox_escape")):
        result = run(f"open({str(target)!r}, 'w').write('pwned')")
        assert not result.ok and result.cause == "exception", target
        assert not target.exists()
    # the host's tmp_path is not the sandbox's /tmp: a write there stays in the sandbox
    result = run(
        f"import os\nos.makedirs({str(tmp_path)!r}, exist_ok=True)\n"
        f"open({str(tmp_path / 'escape')!r}, 'w').write('x')\nprint(os.getcwd())"
    )
    assert result.ok and result.stdout.strip() == sandbox.WORKDIR
    assert not (tmp_path / "escape").exists()


def test_the_workdir_is_writable_but_size_capped():
    assert (
        run("open('scratch.txt', 'w').write('ok')\nprint(open('scratch.txt').read())").stdout
        == "ok\n"
    )
    result = run("open('big', 'wb').write(b'x' * (8 * 1024 * 1024))", disk_mb=2)
    assert not result.ok


def test_the_parents_environment_is_invisible(monkeypatch):
    monkeypatch.setenv("NANOFLUX_TEST_SECRET", "hunter2-api-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    result = run(
        "import os\n"
        "print(sorted(os.environ.items()))\n"
        "for pid in os.listdir('/proc') if os.path.isdir('/proc') else []:\n"
        "    if pid.isdigit():\n"
        "        try:\n"
        "            print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "        except OSError:\n"
        "            pass\n"
    )
    assert result.ok, result.error
    assert "hunter2" not in result.stdout and "sk-test" not in result.stdout
    assert "NANOFLUX_TEST_SECRET" not in result.stdout


def test_megabytes_of_output_are_cut_off():
    result = run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", wall_seconds=10)
    assert not result.ok and result.cause == "output_limit"
    assert len(result.stdout) <= FAST.output_bytes
    huge_value = run("def solution():\n    return 'y' * 10_000_000", memory_mb=512)
    assert not huge_value.ok and huge_value.cause == "output_limit"


def test_exit_codes():
    assert run("import sys\nsys.exit(0)\n").ok
    result = run("import sys\nsys.exit(3)")
    assert not result.ok and result.cause == "exit"
    result = run("import os\nos._exit(0)")  # skips the runner's report
    assert not result.ok and result.cause == "exit"


# -- no host privilege (the probes of issue 11, which must hold when the suite runs as root) --


def _host_ids(runner: int) -> dict[str, list[str]]:
    """The runner's ids as the host sees them, once the program runs."""
    _wait_for_program(runner, otherwise=0.0)
    status = Path(f"/proc/{runner}/status").read_text().splitlines()
    return {
        line.split(":")[0]: line.split()[1:] for line in status if line.startswith(("Uid", "Gid"))
    }


def test_the_program_is_no_privileged_host_user():
    code = (
        "import os, time\n"
        "ids = [os.getuid(), os.getgroups()]\n"
        "time.sleep(2)\n"
        "solution = lambda: ids\n"
    )
    result, host_ids, pidfd = _run_watched(code, _host_ids)
    _reap([pidfd])
    assert result.ok, result.error
    _, groups = result.value
    assert groups == []
    host_uids = {int(uid) for uid in host_ids["Uid"] + host_ids["Gid"]}
    expected = sandbox.bubblewrap.SANDBOX_UID if os.geteuid() == 0 else os.geteuid()
    assert host_uids == {expected}, host_ids
    assert sandbox.describe()["host_uid"] == expected


def test_there_is_no_proc_sys_or_random_device():
    # what differs from run to run is out of sight: uptimes, mount ids, the kernel's uuid
    burst = Path("/proc/sys/kernel/printk_ratelimit_burst")
    before = burst.read_text()
    result = run(
        "import os\n"
        "def solution():\n"
        "    refused = {}\n"
        "    for path in ('/proc/sys/kernel/core_pattern',\n"
        "                 '/proc/sys/kernel/printk_ratelimit_burst', '/proc/sysrq-trigger',\n"
        "                 '/proc/self/mountinfo', '/dev/urandom', '/dev/random'):\n"
        "        try:\n"
        "            os.close(os.open(path, os.O_RDONLY))\n"
        "            refused[path] = False\n"
        "        except OSError:\n"
        "            refused[path] = True\n"
        "    return [refused, sorted(os.listdir('/')), sorted(os.listdir('/dev'))]\n"
    )
    assert result.ok, result.error
    refused, top, devices = result.value
    assert all(refused.values()), refused
    assert "proc" not in top and "sys" not in top
    assert devices == ["full", "null", "shm", "zero"]
    assert burst.read_text() == before


def test_no_other_process_can_be_acted_on():
    # pid 1 is the program itself; the calls that would reach another process are refused
    names = ("pidfd_open", "pidfd_getfd", "process_vm_writev", "process_vm_readv", "kcmp")
    numbers = {name: syscall_number(name) for name in names}
    result = run(
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"numbers = {numbers!r}\n"
        "def solution():\n"
        "    errors = {}\n"
        "    for name, number in numbers.items():\n"
        "        ctypes.set_errno(0)\n"
        "        libc.syscall(number, 1, 0, 0, 0, 0, 0)\n"
        "        errors[name] = ctypes.get_errno()\n"
        "    try:\n"
        "        os.close(os.open('/proc/1/mem', os.O_RDWR))\n"
        "        mem = 'opened'\n"
        "    except OSError as exc:\n"
        "        mem = exc.strerror\n"
        "    return [os.getpid(), errors, mem]\n"
    )
    assert result.ok, result.error
    pid, errors, mem = result.value
    assert pid == 1
    assert errors == dict.fromkeys(names, 1)  # EPERM from the filter, for every one
    assert mem != "opened"


def test_no_line_of_the_id_maps_names_host_root():
    # what the program reads in its own maps, and what the host reads for it meanwhile
    # the program cannot read its maps (there is no /proc); the host reads them meanwhile
    code = (
        "import os, time\nseen = os.path.exists('/proc/self/uid_map')\ntime.sleep(2)\nprint(seen)\n"
    )
    result, host_view, pidfd = _run_watched(code, _id_maps)
    _reap([pidfd])
    assert result.ok, result.error
    assert result.stdout.strip() == "False"
    outside = [line.split() for lines in host_view for line in lines]
    assert len(outside) == 2  # one line each: the uid, and nothing else
    expected = sandbox.describe()["host_uid"]
    assert all(int(line[1]) == expected and line[2] == "1" for line in outside), outside


def test_the_program_holds_no_descriptor_but_its_pipes():
    # bwrap was handed pipes (and, before, a map-writing descriptor): none but the
    # result pipe may reach the program, and nothing that names a host directory
    result = run(
        "import os, stat\n"
        "def solution():\n"
        "    kinds = {}\n"
        "    for fd in range(3, 256):\n"
        "        try:\n"
        "            kinds[fd] = stat.S_IFMT(os.fstat(fd).st_mode) == stat.S_IFIFO\n"
        "        except OSError:\n"
        "            pass\n"
        "    return list(kinds.values())\n"
    )
    assert result.ok, result.error
    assert result.value == [True]  # the result pipe alone


# -- no process outlives its supervisor or its wall-time limit ---------------------------


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return found


def _sandbox_processes(pid: int) -> list[int]:
    """bwrap and the runner among the descendants of ``pid``, parents first."""
    marker = sandbox.bubblewrap.runner_source().encode()[:200]
    found, queue = [], _children(pid)
    while queue:
        current = queue.pop(0)
        try:
            if marker in Path(f"/proc/{current}/cmdline").read_bytes():
                found.append(current)
        except OSError:
            continue
        queue += _children(current)
    return found


def _runner_of(pid: int) -> int | None:
    """The runner (the sandboxed interpreter, not bwrap) below ``pid``, if it runs yet."""
    for each in _sandbox_processes(pid):
        try:
            argv0 = Path(f"/proc/{each}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if argv0 == sys.executable.encode():
            return each
    return None


def _wait_for_program(runner: int, otherwise: float = 1.0) -> None:
    """Until the runner has read the program (its stdin is /dev/null from then on), or
    ``otherwise`` seconds where we may not look (not root: an undumpable process keeps
    its descriptors to itself)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if os.readlink(f"/proc/{runner}/fd/0") == "/dev/null":
                time.sleep(0.2)  # into the program's sleep
                return
        except PermissionError:
            time.sleep(otherwise)
            return
        except OSError:
            return  # gone
        time.sleep(0.02)


def _id_maps(runner: int) -> list[list[str]]:
    # not root: bwrap made the maps before the runner started, so they are final now
    _wait_for_program(runner, otherwise=0.0)
    return [Path(f"/proc/{runner}/{n}").read_text().splitlines() for n in ("uid_map", "gid_map")]


def _gone(pidfds: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    waiting = list(pidfds)
    while waiting and time.monotonic() < deadline:
        ready, _, _ = select.select(waiting, [], [], deadline - time.monotonic())
        waiting = [fd for fd in waiting if fd not in ready]
    return not waiting


def _reap(pidfds: list[int]) -> None:
    """Kill whatever a failed test left running, so that it cannot outlive the suite."""
    for fd in pidfds:
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)


def _run_watched(code: str, look=lambda runner: None, **limits):
    """Run ``code`` in a thread while watching its runner from here: the result, what
    ``look(runner_pid)`` saw while it ran, and a pidfd on the runner (for the caller to
    pass to :func:`_reap`)."""
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(result=run(code, **limits)))
    thread.start()
    runner = None
    while runner is None and thread.is_alive():
        runner = _runner_of(os.getpid())
        time.sleep(0.01)
    assert runner is not None, "the runner was never seen"
    pidfd = os.pidfd_open(runner)
    try:
        seen = look(runner)
    finally:
        thread.join()
    return box["result"], seen, pidfd


def test_sleeping_forever_hits_the_wall_time_limit_and_is_gone():
    result, _, pidfd = _run_watched("import time\ntime.sleep(3600)", wall_seconds=1.5)
    try:
        assert not result.ok and result.cause == "wall_time"
        assert result.seconds < 4
        # killed, not merely abandoned: bwrap's death alone never reached it before
        assert _gone([pidfd], 2.0), "the program outlived its wall-time limit"
    finally:
        _reap([pidfd])


def test_the_program_dies_with_its_supervisor():
    # kill -9 the supervising Python while the program sleeps; the program first tries to
    # cancel the parent-death signal, which the seccomp filter refuses
    program = (
        "import ctypes, time\n"
        "ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG, 0\n"
        "time.sleep(120)\n"
    )
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom nanoflux.sandbox import SandboxLimits, run_python\n"
            "run_python(sys.argv[1], limits=SandboxLimits(wall_seconds=120, cpu_seconds=5))",
            program,
        ]
    )
    pidfds: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while (runner := _runner_of(supervisor.pid)) is None:
            assert supervisor.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        pidfds = [os.pidfd_open(pid) for pid in _sandbox_processes(supervisor.pid)]
        assert len(pidfds) == 2  # bwrap and the runner
        _wait_for_program(runner)
        assert _gone(pidfds, 0.0) is False  # still running, 120 s to go
        supervisor.kill()
        supervisor.wait()
        assert _gone(pidfds, 2.0), "the sandbox outlived its supervisor"
    finally:
        supervisor.kill()
        supervisor.wait()
        _reap(pidfds)


def test_the_parent_death_signal_cannot_be_cancelled():
    result = run(
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def solution():\n"
        "    cancelled = libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG, 0\n"
        "    return [cancelled, ctypes.get_errno(), libc.prctl(15, b'x', 0, 0, 0)]\n"
    )
    assert result.ok, result.error
    assert result.value == [-1, 1, 0]  # EPERM for PR_SET_PDEATHSIG; PR_SET_NAME still works


# -- memory and tasks are bounded ------------------------------------------------------


def test_shared_memory_is_capped_or_refused():
    shmget = syscall_number("shmget")
    result = run(
        "import ctypes, os\n"
        "def solution():\n"
        "    held = 0\n"
        "    try:\n"
        "        for i in range(40):\n"
        "            with open(f'/dev/shm/hog{i}', 'wb') as f:\n"
        "                f.write(b'x' * (1024 * 1024))\n"
        "            held += 1\n"
        "    except OSError:\n"
        "        pass\n"
        "    outcomes = [held]\n"
        "    for attempt in (lambda: os.memfd_create('hog'), lambda: open('/dev/hog', 'wb')):\n"
        "        try:\n"
        "            attempt()\n"
        "            outcomes.append('allowed')\n"
        "        except OSError as exc:\n"
        "            outcomes.append(exc.errno)\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        f"    outcomes.append(libc.syscall({shmget}, 0, 1 << 30, 0o1600))\n"
        "    return outcomes\n",
        disk_mb=4,
    )
    assert result.ok, result.error
    held, memfd, dev, shm = result.value
    assert held <= 4  # MiB: /dev/shm is a tmpfs of disk_mb
    assert memfd == 1  # EPERM: memfd_create is refused
    assert dev != "allowed"  # /dev itself is read-only
    assert shm == -1  # System V shared memory too


def test_threads_are_bounded():
    result = run(
        "import threading, time\n"
        "def solution():\n"
        "    started = 0\n"
        "    try:\n"
        "        for _ in range(3000):\n"
        "            threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "            started += 1\n"
        "    except RuntimeError:\n"
        "        pass\n"
        "    return started\n",
        max_tasks=16,
        wall_seconds=10,
    )
    assert result.ok, result.error
    assert 1 <= result.value < 16


def test_what_bounded_the_sandbox_is_recorded():
    result = run("solution = lambda: 1")
    assert result.bounded_by == sandbox.describe()["bounded_by"]
    assert result.bounded_by in ("cgroup", "rlimits")


# -- the result channel is untrusted ----------------------------------------------------

# Every descriptor the program may hold, not a small range: the result channel's number is
# the host's, and a long test session holding many files pushes it past any small range.
_FORGE = (
    "import os\n"
    "def forge(text):\n"
    "    data = text.encode()\n"
    "    for fd in range(3, 1 << 16):\n"
    "        try:\n"
    "            os.write(fd, data)\n"
    "        except OSError:\n"
    "            pass\n"
)


def test_a_forged_deeply_nested_result_line_is_a_failure():
    # the default output limit lets the 200,000 '[' through to the parser
    result = run(_FORGE + "forge('[' * 200_000)\nos._exit(0)\n", output_bytes=256_000)
    assert not result.ok and result.cause == "bad_result"
    assert "nested" in result.error
    result = run(
        _FORGE + "forge('{\"status\": \"ok\", \"value\": ' + '[' * 30 + ']' * 30 + '}')\n"
        "os._exit(0)\n"
    )
    assert not result.ok and result.cause == "bad_result"
    result = run(_FORGE + "forge('not json')\nos._exit(0)\n")
    assert not result.ok and result.cause == "bad_result"


def test_a_forged_line_before_the_report_changes_nothing():
    result = run(_FORGE + "forge('[' * 1000)\ndef solution():\n    return 7\n")
    assert result.ok and result.value == 7


def test_lone_surrogates_become_valid_utf8():
    forged = '{"status": "ok", "has_solution": true, "value": ["\\ud800", {"\\udfff": 1}]}'
    for code in (
        "def solution():\n    return ['\\ud800', {'\\udfff': 1}]\n",  # from solution()
        _FORGE + f"forge({forged!r} + '\\n')\nos._exit(0)\n",  # JSON escapes on the channel
    ):
        result = run(code)
        assert result.ok, result.error
        assert result.value == ["\ufffd", {"\ufffd": 1}]
        json.dumps(result.model_dump(), ensure_ascii=False).encode("utf-8")


# -- refusing rather than running unsandboxed -------------------------------------------


def test_missing_bwrap_refuses(monkeypatch):
    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, "/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        run_python("print('should not run')")


def test_a_broken_bwrap_refuses(monkeypatch, tmp_path):
    # a "bwrap" that fails the way a kernel without user namespaces makes it fail
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, str(fake))
    with pytest.raises(SandboxUnavailable, match="namespace"):
        run_python("print('should not run')")


def test_seccomp_filter_is_well_formed():
    program = seccomp_filter("x86_64")
    assert len(program) % 8 == 0
    first = struct.unpack("=HBBI", program[:8])
    assert first == (0x20, 0, 0, 4)  # it starts by checking the architecture
    assert seccomp_filter("aarch64") != program
    assert platform.machine() not in ("x86_64", "aarch64") or seccomp_filter() in (
        program,
        seccomp_filter("aarch64"),
    )
    with pytest.raises(SandboxUnavailable):
        seccomp_filter("mips")


def test_the_host_process_is_unchanged():
    # the sandbox runs in another process: nothing leaks into ours
    before = dict(os.environ)
    run("import os\nos.environ['LEAK'] = '1'")
    assert dict(os.environ) == before
