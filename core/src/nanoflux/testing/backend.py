"""The contract every model backend passes."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest

from ..backends import Backend, Completion, CompletionRequest
from ..records import ChatMessage, Record
from ..structured import ANSWER_SCHEMA
from .leaks import assert_secret_absent


def _request(text: str, **kwargs) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text)],
        max_tokens=kwargs.pop("max_tokens", 48),
        seed=0,
        temperature=0.0,
        **kwargs,
    )


def run(coro):
    return asyncio.run(coro)


class BackendContract:
    """Supply a ``backend`` fixture returning an opened :class:`Backend`.

    Backends that need scripted replies for structured calls (the scripted backend)
    queue plain JSON; real models are asked to follow ``ANSWER_SCHEMA``.
    """

    #: the id the plugin registers this under; the meta-test checks that every
    #: installed id has a contract test that declares it
    registered_as: str | None = None

    #: where the backend takes a credential from: the name of an environment variable,
    #: which the contract sets to a unique value before the ``backend`` fixture opens it,
    #: or ``"options"`` when the ``backend`` fixture passes the ``planted_secret``
    #: fixture's value in its options itself. None: the backend reads no credential.
    secret_from: str | None = None

    @pytest.fixture
    def backend(self) -> Backend:
        raise NotImplementedError("subclass the contract and supply a `backend` fixture")

    @pytest.fixture(autouse=True)
    def planted_secret(self, monkeypatch) -> str:
        """A credential no one else has, in the environment variable ``secret_from``
        names (autouse, so it is there before the ``backend`` fixture runs)."""
        value = f"nf-planted-{uuid.uuid4().hex}"
        if self.secret_from and self.secret_from != "options":
            monkeypatch.setenv(self.secret_from, value)
        return value

    def test_is_a_backend(self, backend):
        assert isinstance(backend, Backend)
        assert backend.max_concurrency >= 1

    def test_registered_as(self, backend):
        assert self.registered_as, "declare registered_as: the prefix the plugin registers"
        assert backend.spec.prefix == self.registered_as

    def test_plain_completion(self, backend):
        completion = run(backend.complete(_request("Say hello.")))
        assert isinstance(completion, Completion)
        assert isinstance(completion.text, str)
        assert completion.seconds >= 0
        assert completion.prompt_tokens > 0
        # a real reply: some text, counted as generated tokens, no more than were allowed
        assert completion.text.strip(), "asked to say hello, the backend returned no text"
        assert 0 < completion.completion_tokens <= 48, completion.completion_tokens

    def test_n_completions_of_one_request(self, backend):
        """``complete_n``: one reply per draft, each a real reply counted on its own."""
        completions = run(backend.complete_n(_request("Name a colour.", max_tokens=16), 3))
        assert len(completions) == 3
        assert all(isinstance(c, Completion) and c.text.strip() for c in completions)
        assert all(0 < c.completion_tokens <= 16 for c in completions)
        assert completions[0].prompt_tokens > 0

    def test_structured_completion_returns_schema_object(self, backend):
        request = _request(
            "What is 2 + 3? Reply as JSON with reasoning and final_answer.",
            json_schema=ANSWER_SCHEMA,
            max_tokens=96,
        )
        completion = run(backend.complete(request))
        assert completion.data is not None, completion.text
        assert set(ANSWER_SCHEMA["required"]) <= set(completion.data)
        assert all(isinstance(completion.data[k], str) for k in ANSWER_SCHEMA["required"])

    def test_concurrent_calls_all_complete(self, backend):
        async def many():
            return await asyncio.gather(
                *(backend.complete(_request(f"Count to {i}.")) for i in range(3))
            )

        completions = run(many())
        assert len(completions) == 3
        assert all(isinstance(c, Completion) for c in completions)

    def test_a_reply_is_continued_and_stops_where_asked(self, backend):
        """``continues_replies``: a last assistant message is continued (the reply is what
        follows it, not it again), and a reply that reaches a ``stop`` string ends before
        it, naming it in ``stop_sequence``; one that ends otherwise names none."""
        if not backend.continues_replies:
            pytest.skip("this backend does not continue replies (continues_replies)")
        counting = [
            ChatMessage(role="user", content="Count from 1 to 20 in digits, separated by commas."),
            ChatMessage(role="assistant", content="1, 2, 3, 4, 5,"),
        ]
        request = CompletionRequest(messages=counting, max_tokens=24, temperature=0.0, seed=0)
        going_on = run(backend.complete(request))
        assert going_on.text.lstrip().startswith("6"), going_on.text
        assert going_on.stop_sequence is None
        stopped = run(backend.complete(request.model_copy(update={"stop": ["9", "nine"]})))
        assert stopped.stop_sequence == "9", (stopped.text, stopped.finish_reason)
        assert stopped.text.lstrip().startswith("6") and "9" not in stopped.text, stopped.text

    def test_describe_names_the_spec(self, backend):
        description = backend.describe()
        assert description["spec"] == str(backend.spec)
        json.dumps(description, default=str)

    def test_the_credential_shows_nowhere(self, backend, planted_secret, caplog, capfd, tmp_path):
        """The planted credential's value is in nothing the backend returns, describes,
        counts, logs, prints or writes under the test's folder (``tmp_path``: point the
        backend's files there in the fixture), through a completion and a close."""
        if not self.secret_from:
            pytest.skip("this backend reads no credential (secret_from is not declared)")
        caplog.set_level(logging.DEBUG)
        shown = {"the completion": run(backend.complete(_request("Say hello."))).model_dump_json()}
        shown["describe()"] = repr(backend.describe())
        shown["stats"] = backend.stats.model_dump_json() if backend.stats is not None else ""
        run(backend.aclose())
        shown["stdout"], shown["stderr"] = capfd.readouterr()
        shown["the log"] = caplog.text
        assert_secret_absent(planted_secret, shown, [tmp_path])

    def test_stats_capability(self, backend):
        """A backend that keeps counters exposes them as a record the manifest can hold."""
        if backend.stats is None:
            pytest.skip("this backend keeps no counters")
        assert isinstance(backend.stats, Record)
        json.dumps(backend.stats.model_dump(mode="json"))

    def test_close_is_idempotent(self, backend):
        run(backend.aclose())
        run(backend.aclose())
