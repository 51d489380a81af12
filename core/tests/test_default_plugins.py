"""The built-in plugins pass the same contracts as third-party ones."""

import asyncio
import logging
import os
import sys

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


# -- the contracts catch what they claim to catch -------------------------------------------


class LeakyBackend(ScriptedBackend):
    """Takes a key from LEAKY_KEY and lets it out in one place, named by ``leak``."""

    def __init__(self, leak: str, folder):
        super().__init__(lambda request: "hello")
        self.leak, self.folder = leak, folder
        self.key = os.environ["LEAKY_KEY"]

    def describe(self):
        shown = super().describe()
        return {**shown, "auth": f"Bearer {self.key}"} if self.leak == "describe" else shown

    async def complete(self, request):
        if self.leak == "log":
            logging.getLogger("leaky").debug("calling with %s", self.key)
        if self.leak == "file":
            (self.folder / "cache" / "headers.bin").write_bytes(b"\x00key=" + self.key.encode())
        if self.leak == "stderr":
            print(f"token {self.key}", file=sys.stderr)
        return await super().complete(request)


@pytest.mark.parametrize(
    ("leak", "where"),
    [("describe", "describe()"), ("log", "the log"), ("file", "headers.bin"), ("stderr", "stderr")],
)
def test_the_backend_contract_finds_a_planted_credential(
    leak, where, monkeypatch, caplog, capfd, tmp_path
):
    class TestLeaky(BackendContract):
        secret_from = "LEAKY_KEY"

    contract = TestLeaky()
    secret = "nf-planted-for-this-test"
    monkeypatch.setenv("LEAKY_KEY", secret)
    (tmp_path / "cache").mkdir()
    backend = LeakyBackend(leak, tmp_path)
    with pytest.raises(AssertionError, match=f"credential shows in: .*{where}"):
        contract.test_the_credential_shows_nowhere(backend, secret, caplog, capfd, tmp_path)
    # the same backend without the leak passes
    caplog.clear()
    for written in (tmp_path / "cache").iterdir():
        written.unlink()
    backend = LeakyBackend("nowhere", tmp_path)
    contract.test_the_credential_shows_nowhere(backend, secret, caplog, capfd, tmp_path)


def test_a_contract_test_that_does_not_apply_is_skipped_with_its_reason():
    from nanoflux.testing import DomainContract

    class NoPrograms:
        name = "plain"
        supports_programs = False
        program_tool = None

    contract = DomainContract()
    with pytest.raises(pytest.skip.Exception, match="plain asks for no programs"):
        contract.test_a_program_that_reads_chance_is_refused(NoPrograms(), None)
    with pytest.raises(pytest.skip.Exception, match="plain is not code-first"):
        contract.test_a_code_first_domain_runs_its_example_program(NoPrograms(), None)
    with pytest.raises(pytest.skip.Exception, match="reads no credential"):
        TestScriptedBackend().test_the_credential_shows_nowhere(None, "x", None, None, None)


def test_a_scripted_option_of_the_wrong_type_is_one_line(builtin_host):
    from nanoflux.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        builtin_host.open_backend("scripted:nanoflux_test_arith", {"latency": "abc"})
    line = caught.value.one_line()
    assert "option latency" in line and "scripted options: latency, cycle" in line
    with pytest.raises(ConfigError, match="option colour"):
        builtin_host.open_backend("scripted:nanoflux_test_arith", {"colour": 1})
