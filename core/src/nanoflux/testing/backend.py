"""The contract every model backend passes."""

from __future__ import annotations

import asyncio
import json

import pytest

from ..backends import Backend, Completion, CompletionRequest
from ..records import ChatMessage, Record
from ..structured import ANSWER_SCHEMA


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

    @pytest.fixture
    def backend(self) -> Backend:
        raise NotImplementedError("subclass the contract and supply a `backend` fixture")

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
        assert completion.completion_tokens >= 0

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

    def test_describe_names_the_spec_and_holds_no_secret(self, backend, monkeypatch):
        description = backend.describe()
        assert description["spec"] == str(backend.spec)
        text = repr(description).lower()
        assert "api_key" not in text and "secret" not in text

    def test_stats_capability(self, backend):
        """A backend that keeps counters exposes them as a record the manifest can hold."""
        if backend.stats is None:
            pytest.skip("this backend keeps no counters")
        assert isinstance(backend.stats, Record)
        json.dumps(backend.stats.model_dump(mode="json"))

    def test_close_is_idempotent(self, backend):
        run(backend.aclose())
        run(backend.aclose())
