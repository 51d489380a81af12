"""Hostile programs against the sandbox: each is contained within its limits, the host is
unchanged, and benign programs still work. Runs the real bubblewrap sandbox."""

from __future__ import annotations

import os
import shutil
import socket
import struct
from pathlib import Path

import pytest

import nanoflux
from nanoflux import sandbox
from nanoflux.errors import SandboxUnavailable
from nanoflux.sandbox import SandboxLimits, run_python, seccomp_filter

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


def test_sleeping_forever_hits_the_wall_time_limit():
    result = run("import time\ntime.sleep(3600)", wall_seconds=1.5)
    assert not result.ok and result.cause == "wall_time"
    assert result.seconds < 4


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
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try:\n"
        "            print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "        except OSError:\n"
        "            pass\n"
    )
    assert result.ok
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
    with pytest.raises(SandboxUnavailable):
        seccomp_filter("mips")


def test_the_host_process_is_unchanged():
    # the sandbox runs in another process: nothing leaks into ours
    before = dict(os.environ)
    run("import os\nos.environ['LEAK'] = '1'")
    assert dict(os.environ) == before
