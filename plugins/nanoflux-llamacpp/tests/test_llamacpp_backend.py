"""The llamacpp backend against the real bundled SmolLM2-135M GGUF (no download)."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import threading

import pytest
from nanoflux_llamacpp import models, open_llamacpp
from nanoflux_llamacpp.gguf import bundled_model

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.errors import BackendError, ConfigError
from nanoflux.plugins import PluginHost
from nanoflux.records import ChatMessage
from nanoflux.testing import BackendContract

SMALL = {"n_ctx": 1024, "max_tokens": 64, "temperature": 0.0}

SCORE_SCHEMA = {
    "type": "object",
    "properties": {
        "coherence": {"type": "integer", "minimum": 1, "maximum": 5},
        "correct": {"type": "boolean"},
    },
    "required": ["coherence", "correct"],
    "additionalProperties": False,
}


def open_default(**options):
    return open_llamacpp(ModelSpec.parse("llamacpp:smollm2-135m", {**SMALL, **options}))


def ask(backend, text, **fields):
    request = CompletionRequest(messages=[ChatMessage(role="user", content=text)], **fields)
    return asyncio.run(backend.complete(request))


def close(*backends):
    for backend in backends:
        asyncio.run(backend.aclose())


@pytest.fixture
def backend():
    opened = open_default()
    yield opened
    close(opened)


class TestLlamaCppBackend(BackendContract):
    registered_as = "llamacpp"

    @pytest.fixture
    def backend(self, backend):
        return backend


def test_bundled_model_is_found_offline():
    path = bundled_model()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"


def test_two_roles_on_one_file_share_one_loaded_model():
    before = models.loaded_count()
    attacker = open_default(temperature=0.9, seed=1)  # sampling options differ: still shared
    defender = open_default(temperature=0.0)
    other_context = open_default(n_ctx=512)  # load options differ: its own instance
    try:
        assert attacker.loaded is defender.loaded
        assert other_context.loaded is not attacker.loaded
        assert models.loaded_count() == before + 2

        # calls from both roles into the shared instance never overlap
        llama = attacker.loaded.llama
        original = llama.create_chat_completion
        active, peak, guard = [0], [0], threading.Lock()

        def counting(**kwargs):
            with guard:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                return original(**kwargs)
            finally:
                with guard:
                    active[0] -= 1

        llama.create_chat_completion = counting

        async def both_roles():
            request = CompletionRequest(
                messages=[ChatMessage(role="user", content="Name a colour.")], max_tokens=8
            )
            return await asyncio.gather(
                attacker.complete(request),
                defender.complete(request),
                attacker.complete(request),
                defender.complete(request),
            )

        completions = asyncio.run(both_roles())
        assert len(completions) == 4 and peak[0] == 1
        del llama.create_chat_completion
    finally:
        close(attacker, other_context)
        assert models.loaded_count() == before + 1  # defender still holds the shared one
        close(defender)
    assert models.loaded_count() == before


def test_structured_reply_parses_and_bounded_integers_hold(backend):
    completion = ask(
        backend,
        "Rate the coherence (1-5) of: 'The sky is blue because of Rayleigh scattering.' "
        "Reply as JSON with coherence and correct.",
        json_schema=SCORE_SCHEMA,
        max_tokens=48,
        temperature=0.0,
        seed=0,
    )
    assert completion.data is not None, completion.text
    assert completion.data["coherence"] in range(1, 6)
    assert isinstance(completion.data["correct"], bool)
    assert completion.finish_reason == "stop"


def test_reply_cut_off_at_max_tokens_leaves_data_none(backend):
    completion = ask(
        backend,
        "Explain addition in detail, as JSON with reasoning and final_answer.",
        json_schema={
            "type": "object",
            "properties": {"reasoning": {"type": "string"}, "final_answer": {"type": "string"}},
            "required": ["reasoning", "final_answer"],
        },
        max_tokens=4,
        temperature=0.0,
    )
    assert completion.data is None
    assert completion.finish_reason == "length"
    assert completion.text.startswith("{")
    assert backend.stats.invalid == 1 and backend.stats.truncated == 1


def test_request_fields_override_role_options(backend):
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="hi")], max_tokens=3, temperature=0.3, seed=7
    )
    arguments = backend.call_arguments(request)
    assert (arguments["max_tokens"], arguments["temperature"], arguments["seed"]) == (3, 0.3, 7)
    defaults = backend.call_arguments(
        CompletionRequest(messages=[ChatMessage(role="user", content="hi")])
    )
    assert (defaults["max_tokens"], defaults["temperature"]) == (64, 0.0)
    assert "seed" not in defaults
    completion = ask(backend, "Tell me a long story.", max_tokens=3)
    assert completion.completion_tokens <= 3
    assert completion.prompt_tokens > 0 and completion.seconds > 0


def test_same_seed_same_reply_when_sampling(backend):
    fields = {"max_tokens": 12, "temperature": 1.0, "seed": 42}
    first = ask(backend, "Invent a name for a cat.", **fields)
    second = ask(backend, "Invent a name for a cat.", **fields)
    assert first.text == second.text


def test_prompt_longer_than_context_is_a_backend_error():
    small = open_default(n_ctx=256)
    try:
        with pytest.raises(BackendError, match="context window") as caught:
            ask(small, "apple " * 400, max_tokens=4)
        assert "n_ctx" in caught.value.one_line()
        assert small.stats.failed == 1
    finally:
        close(small)


def test_describe_has_path_sha256_and_load_options(backend):
    description = backend.describe()
    path = bundled_model()
    assert description["path"] == str(path)
    assert description["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert description["load"]["n_ctx"] == 1024
    assert description["size_bytes"] == path.stat().st_size
    assert backend.describe()["sha256"] == description["sha256"]


def test_missing_gguf_path_names_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ConfigError) as caught:
        open_llamacpp(ModelSpec.parse(f"llamacpp:{missing}"))
    assert str(missing) in str(caught.value)


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        open_llamacpp(ModelSpec.parse(f"llamacpp:{fake}"))


def test_unknown_or_bad_option_names_the_option():
    with pytest.raises(ConfigError, match="n_ctxx"):
        open_llamacpp(ModelSpec.parse("llamacpp:smollm2-135m", {"n_ctxx": 10}))
    with pytest.raises(ConfigError, match="n_threads"):
        open_llamacpp(ModelSpec.parse("llamacpp:smollm2-135m", {"n_threads": 0}))


def test_a_closed_backend_refuses_calls():
    opened = open_default()
    close(opened)
    with pytest.raises(BackendError, match="closed"):
        ask(opened, "hi", max_tokens=2)


def test_plugin_registers_backend_and_benchmark_through_the_host():
    host = PluginHost.load(allow=["llamacpp"])
    assert not host.errors
    assert "llamacpp" in host.backends
    assert "backend" in host.benchmarks
    row = next(r for r in host.describe() if r["name"] == "llamacpp")
    assert row["hooks"] == ["register_backends", "register_benchmarks", "register_commands"]
    opened = host.open_backend("llamacpp:smollm2-135m", SMALL)
    try:
        assert opened.describe()["spec"] == "llamacpp:smollm2-135m"
    finally:
        close(opened)


def test_importing_the_plugin_does_not_import_llama_cpp():
    code = "import sys, nanoflux_llamacpp; assert 'llama_cpp' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
