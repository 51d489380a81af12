"""The built-in plugins pass the same contracts as third-party ones."""

import asyncio

import pytest

from nanoflux.backends import CompletionRequest
from nanoflux.default_plugins.hashing import HashingEmbedder
from nanoflux.default_plugins.memory_store import MemoryStore
from nanoflux.default_plugins.scripted import ScriptedBackend
from nanoflux.errors import BackendTimeout, ConfigError
from nanoflux.records import ChatMessage
from nanoflux.testing import BackendContract, EmbedderContract, NoveltyStoreContract


class TestScriptedBackend(BackendContract):
    registered_as = "scripted"

    @pytest.fixture
    def backend(self):
        def reply(request):
            if request.json_schema:
                return {"reasoning": "2+3=5", "final_answer": "5"}
            return "hello"

        return ScriptedBackend(reply)


class TestHashingEmbedder(EmbedderContract):
    registered_as = "hashing"

    @pytest.fixture
    def embedder(self):
        return HashingEmbedder()


class TestMemoryStoreInMemory(NoveltyStoreContract):
    registered_as = "memory"

    @pytest.fixture
    def store(self):
        return MemoryStore()


class TestMemoryStoreOnDisk(NoveltyStoreContract):
    registered_as = "memory"

    @pytest.fixture
    def store(self, tmp_path):
        return MemoryStore(tmp_path / "store")

    @pytest.fixture
    def reopen(self, tmp_path):
        def again(old):
            old.close()
            return MemoryStore(tmp_path / "store")

        return again


def ask(backend, text="hi"):
    return asyncio.run(
        backend.complete(CompletionRequest(messages=[ChatMessage(role="user", content=text)]))
    )


def test_scripted_records_calls_and_cycles():
    backend = ScriptedBackend(["a", "b"])
    assert [ask(backend).text for _ in range(3)] == ["a", "b", "a"]
    assert len(backend.calls) == 3


def test_scripted_injects_failures():
    backend = ScriptedBackend([{"__error__": "timeout"}])
    with pytest.raises(BackendTimeout):
        ask(backend)


def test_scripted_spec_reads_reply_file(tmp_path, builtin_host):
    replies = tmp_path / "replies.jsonl"
    replies.write_text('"one"\n{"final_answer": "2"}\n')
    backend = builtin_host.open_backend(f"scripted:{replies}", {"latency": 0.01})
    assert ask(backend).text == "one"
    assert ask(backend).text == '{"final_answer": "2"}'
    assert backend.latency == 0.01


def test_scripted_spec_with_responder(builtin_host, tmp_path, monkeypatch):
    (tmp_path / "my_responder.py").write_text(
        "def reply(request):\n    return {'echo': request.messages[-1].content}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    backend = builtin_host.open_backend("scripted:my_responder:reply")
    assert ask(backend, "x").text == '{"echo": "x"}'


def test_scripted_spec_missing_file_is_a_config_error(builtin_host):
    with pytest.raises(ConfigError, match="no such reply file"):
        builtin_host.open_backend("scripted:/nonexistent/replies.json")
