"""llamacpp-server: a real llama-server (built by scripts/setup.sh) on the bundled
SmolLM2-135M GGUF: started, health-checked, answering plain, structured and concurrent
requests, a crash reported in one line, and never a process left behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from nanoflux_llamacpp import open_llamacpp_server, server, server_binary
from nanoflux_llamacpp.server import ServerCrashed

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.errors import BackendError, ConfigError, NotAvailableError
from nanoflux.plugins import PluginHost
from nanoflux.records import ChatMessage
from nanoflux.testing import BackendContract

SMALL = {"n_ctx": 1024, "max_tokens": 64, "temperature": 0.0, "parallel": 2}

# a bounded integer the grammar must hold (llama.cpp ignores minimum/maximum)
RATING_SCHEMA = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string"},
        "rating": {"type": "integer", "minimum": 1, "maximum": 3},
    },
    "required": ["verdict", "rating"],
}


def open_small(**options):
    return open_llamacpp_server(
        ModelSpec.parse("llamacpp-server:smollm2-135m", {**SMALL, **options})
    )


def request(text: str, **fields) -> CompletionRequest:
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)], **fields)


def ask(backend, text, **fields):
    return asyncio.run(backend.complete(request(text, **fields)))


def close(*backends):
    for backend in backends:
        asyncio.run(backend.aclose())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by a parent that is still alive) counts as gone
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[-1][0] != "Z"


def wait_gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def health(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/health", timeout=5) as reply:
        return reply.status


@pytest.fixture
def backend():
    """An open llamacpp-server backend on SmolLM2 (two slots), closed after the test."""
    opened = open_small()
    try:
        yield opened
    finally:
        close(opened)


class TestLlamaServerBackend(BackendContract):
    """The contract every backend passes, on the module's ``backend``."""

    registered_as = "llamacpp-server"

    @pytest.fixture
    def backend(self, backend):
        return backend


def test_the_server_binary_is_built_cached_and_recorded():
    found = server_binary.find()
    assert found is not None, f"llama-server is not built: {server_binary.BUILD_HINT}"
    record = found.record
    wheel = server_binary.build.read_record()
    assert record["llama_cpp_python"] == wheel["llama_cpp_python"]
    assert record["wheel_cmake_args"] == wheel["cmake_args"]
    assert "-DGGML_NATIVE=OFF" in record["wheel_cmake_args"]
    # no RUNPATH into the venv that built it: the cached binary serves any venv
    assert str(server_binary.wheel_prefix()).encode() not in found.path.read_bytes()
    assert found.path.parent.name == server_binary.cache_key()


def test_start_health_complete_and_stop():
    opened = open_small()
    process = opened.server
    pid = process.process.pid
    try:
        assert process.port > 0 and health(process.base_url) == 200
        command = process.command()
        # the kernel picks the port: none is chosen here and taken by another meanwhile
        assert command[command.index("--port") + 1] == "0"
        completion = ask(opened, "Say hello.", max_tokens=12)
        assert completion.text.strip() and 0 < completion.completion_tokens <= 12
        described = opened.describe()
        assert described["backend"] == "llamacpp-server" and described["parallel"] == 2
        assert described["server"]["pid"] == pid
        if described["build"]["variants"]:  # runtime dispatch: the server got our variant
            assert described["build"]["variant"] == process.variant
            assert process.variant in described["build"]["summary"]
    finally:
        close(opened)
    assert wait_gone(pid), "llama-server still running after aclose"
    with pytest.raises(OSError):
        health(process.base_url)
    with pytest.raises(BackendError, match="closed"):
        ask(opened, "hi", max_tokens=2)


def test_structured_reply_holds_the_schema_and_its_bounds(backend):
    completion = ask(
        backend,
        "Is 'The sky is blue because of Rayleigh scattering' right? Reply as JSON with a "
        "verdict and a rating from 1 (wrong) to 3 (right).",
        json_schema=RATING_SCHEMA,
        max_tokens=48,
        seed=0,
    )
    assert completion.data is not None, completion.text
    assert completion.data["rating"] in (1, 2, 3)  # the bound held by the grammar
    assert completion.finish_reason == "stop"
    # the very body the in-process backend gives llama-cpp-python: one code path
    in_process = PluginHost.load(allow=["llamacpp"]).open_backend(
        "llamacpp:smollm2-135m", {k: v for k, v in SMALL.items() if k != "parallel"}
    )
    try:
        asked = request("x", json_schema=RATING_SCHEMA, seed=3)
        assert backend.call_arguments(asked) == in_process.call_arguments(asked)
        sent = backend.call_arguments(asked)["response_format"]["schema"]
        assert sent["properties"]["rating"] == {"enum": [1, 2, 3]}
    finally:
        close(in_process)


def test_n_drafts_read_the_prompt_once_and_differ(backend):
    """complete_n: one server task whose prompt is read once and copied to the other
    slots; more drafts than slots (3 on parallel 2) come in a second task; each draft has
    its own seed, so at temperature 1 they differ."""
    asked = request(
        "Write one short sentence about a cat.", max_tokens=24, temperature=1.0, seed=11
    )
    calls = backend.stats.calls
    drafts = asyncio.run(backend.complete_n(asked, 3))
    assert backend.stats.calls - calls == 2  # ceil(3 / parallel)
    assert len(drafts) == 3 and len({d.text for d in drafts}) >= 2
    assert drafts[0].prompt_tokens > 0 and drafts[1].prompt_tokens == 0
    assert drafts[2].prompt_tokens == drafts[0].prompt_tokens  # the second task's own
    assert all(0 < d.completion_tokens <= 24 for d in drafts)


def test_a_truncated_structured_reply_leaves_data_none(backend):
    completion = ask(
        backend,
        "Explain addition in detail, as JSON with a reasoning.",
        json_schema={"type": "object", "properties": {"reasoning": {"type": "string"}}},
        max_tokens=4,
    )
    assert completion.data is None and completion.finish_reason == "length"
    assert backend.stats.invalid == 1 and backend.stats.truncated == 1


def test_two_concurrent_completions_decode_together(backend):
    assert backend.max_concurrency == 2  # the engine's seat lets two calls in

    async def both():
        return await asyncio.gather(
            backend.complete(request("Count from one to twenty in words.", max_tokens=40)),
            backend.complete(request("Name twenty animals.", max_tokens=40)),
        )

    first, second = asyncio.run(both())
    assert first.completion_tokens > 0 and second.completion_tokens > 0
    log = backend.server._read_log().decode("utf-8", "replace")
    events = re.findall(r"(launch_slot_|release): id +(\d+) \| task (\d+)", log)
    work = [(event, slot) for event, slot, task in events if task != "-1"]
    # both slots started before either finished: one batch, not one after the other
    first_release = next(i for i, (event, _) in enumerate(work) if event == "release")
    launched = {slot for event, slot in work[:first_release] if event == "launch_slot_"}
    assert len(launched) == 2, work


def test_backends_with_the_same_load_options_share_one_server():
    a = open_small(temperature=0.9)  # sampling differs: still the same server
    b = open_small()
    other = open_small(n_ctx=512)  # load options differ: a server of its own
    try:
        assert a.server is b.server and other.server is not a.server
        assert other.server.port != a.server.port
        assert health(a.server.base_url) == 200 and health(other.server.base_url) == 200
        pid = a.server.process.pid
        close(a)
        assert alive(pid) and ask(b, "hi", max_tokens=2).completion_tokens > 0
    finally:
        close(b, other)
    assert wait_gone(pid)


def test_a_killed_server_is_one_line_and_stops_the_run():
    opened = open_small()
    process = opened.server

    async def killed_mid_reply():
        reply = asyncio.create_task(
            opened.complete(request("Write a long story about a dragon.", max_tokens=400))
        )
        await asyncio.sleep(1.0)
        os.kill(process.process.pid, signal.SIGKILL)
        return await reply

    try:
        with pytest.raises(ServerCrashed) as caught:
            asyncio.run(killed_mid_reply())
        line = caught.value.one_line()
        assert "\n" not in line and "was killed by SIGKILL" in line
        assert f"(pid {process.process.pid})" in line and "its last line: " in line
        assert caught.value.stops_run and caught.value.cause == "server_crashed"
        assert opened.stats.failed == 1
        with pytest.raises(ServerCrashed):  # and every later call says the same
            ask(opened, "hi", max_tokens=2)
    finally:
        close(opened)


def test_a_server_that_cannot_start_is_one_line(tmp_path):
    broken = tmp_path / "broken.gguf"
    # a GGUF header and nothing after it: our check passes, llama.cpp refuses the file
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 16)
    before = server.running_count()
    with pytest.raises(ServerCrashed) as caught:
        open_llamacpp_server(ModelSpec.parse(f"llamacpp-server:{broken}", SMALL))
    line = caught.value.one_line()
    assert "exited with status" in line and "while loading the model" in line
    assert "broken.gguf" in line and server.running_count() == before


def test_no_server_outlives_its_process():
    """A process that ends without aclose (atexit) or is killed (PR_SET_PDEATHSIG)."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from nanoflux_llamacpp import open_llamacpp_server
        from nanoflux.backends import ModelSpec
        opened = open_llamacpp_server(ModelSpec.parse("llamacpp-server:smollm2-135m", {SMALL!r}))
        print(opened.server.process.pid, flush=True)
        sys.stdin.readline()  # until the test has seen the server alive
        if sys.argv[1] == "hang":
            time.sleep(600)
        """
    )
    for how in ("exit", "hang"):
        child = subprocess.Popen(
            [sys.executable, "-c", code, how],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        pid = int(child.stdout.readline())
        assert alive(pid)
        child.stdin.write("go\n")
        child.stdin.flush()
        if how == "hang":
            child.kill()  # SIGKILL: no atexit, no finally
        child.wait(timeout=60)
        assert wait_gone(pid), f"llama-server {pid} outlived its parent ({how})"


def test_a_missing_binary_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setenv(server_binary.CACHE_VARIABLE, str(tmp_path))
    with pytest.raises(NotAvailableError) as caught:
        open_small()
    assert "llama-server is not built" in caught.value.one_line()
    assert "scripts/setup.sh" in caught.value.one_line()


def test_options_are_checked_at_the_door():
    with pytest.raises(ConfigError, match="llamacpp-server options"):
        open_small(parallell=4)
    with pytest.raises(ConfigError, match="parallel"):
        open_small(parallel=0)
    with pytest.raises(ConfigError, match="chat_format"):
        open_small(chat_format="chatml")
    # and the in-process backend does not take the server's options
    with pytest.raises(ConfigError, match="parallel"):
        PluginHost.load(allow=["llamacpp"]).open_backend("llamacpp:smollm2-135m", {"parallel": 2})


def test_the_cache_key_follows_version_flags_and_recipe(monkeypatch):
    record = {"llama_cpp_python": "0.3.36", "cmake_args": "-DGGML_NATIVE=OFF"}
    monkeypatch.setattr(server_binary.build, "read_record", lambda: dict(record))
    key = server_binary.cache_key()
    assert re.fullmatch(r"llama-server-0\.3\.36-cp3\d+-\w+-[0-9a-f]{12}", key), key
    record["cmake_args"] = "-DGGML_NATIVE=OFF -DGGML_AVX512=ON"
    assert server_binary.cache_key() != key
    record.update(llama_cpp_python="0.3.37", cmake_args="-DGGML_NATIVE=OFF")
    assert "0.3.37" in server_binary.cache_key()
    monkeypatch.setattr(server_binary.build, "read_record", lambda: None)
    assert server_binary.cache_key() is None and server_binary.find() is None


def test_setup_builds_the_server_after_the_wheel_and_before_doctor():
    root = Path(__file__).resolve().parents[3]
    lines = (root / "scripts" / "setup.sh").read_text().splitlines()
    build = '"$VENV/bin/python" -m nanoflux_llamacpp.server_binary build'
    install = max(i for i, line in enumerate(lines) if "install -e" in line)
    assert install < lines.index(build) < lines.index('"$VENV/bin/nanoflux" doctor')
    # and the recipe compiles no ggml code, and sets no CPU flag
    code = server_binary.RECIPE.read_text().splitlines()
    recipe = "\n".join(line for line in code if not line.lstrip().startswith("#"))
    assert "march" not in recipe and "ggml/src" not in recipe and "NATIVE" not in recipe
    assert 'add_subdirectory("${LLAMA_SOURCE}/ggml' not in recipe


def test_doctor_proves_the_server_with_one_structured_completion():
    from nanoflux import doctor

    factory = PluginHost.load(allow=["llamacpp"]).backends.get("llamacpp-server")
    assert factory.offline_default == "llamacpp-server:default"
    [result] = doctor.run_checks([doctor.Check("backend", "llamacpp-server")])
    assert result.status == "ok", result.detail
    assert "answered" in result.detail and "build: runtime CPU dispatch" in result.detail
    assert result.facts["server"]["pid"] > 0
    assert wait_gone(result.facts["server"]["pid"])
