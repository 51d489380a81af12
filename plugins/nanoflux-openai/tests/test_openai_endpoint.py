"""The server URL: one that never answers fails at once, a key in it never reaches a record,
and whatever text the server sends back can be written as UTF-8."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import pytest
from nanoflux_openai import open_openai

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.errors import BackendUnavailable, BackendUnreachable, ConfigError
from nanoflux.records import ChatMessage
from nanoflux.secrets import scrub

QUERY_KEY = "QSECRET-0123456789"
FAST = {"backoff_base": 0.01, "backoff_max": 0.05, "timeout": 30}
SCHEMA = {
    "type": "object",
    "properties": {"final_answer": {"type": "string"}},
    "required": ["final_answer"],
}


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def free_port() -> int:
    """A port nothing listens on (bound, then closed): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ask(backend, text="Say hi.", **fields):
    fields.setdefault("max_tokens", 8)
    fields.setdefault("temperature", 0.0)
    request = CompletionRequest(messages=[ChatMessage(role="user", content=text)], **fields)
    return asyncio.run(asyncio.wait_for(backend.complete(request), 120))


def test_a_server_that_never_answered_fails_at_once_naming_the_url():
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1?api_key={QUERY_KEY}"
    # backoff of a second: eight retries would take minutes
    backend = open_openai(ModelSpec.parse(f"openai:m@{url}", {"max_retries": 8}))
    started = time.monotonic()
    with pytest.raises(BackendUnreachable) as caught:
        ask(backend)
    assert time.monotonic() - started < 10
    message = caught.value.one_line()
    assert f"127.0.0.1:{port}/v1?api_key=***" in message
    assert QUERY_KEY not in message
    assert caught.value.stops_run and caught.value.exit_code == 1
    assert backend.stats.requests == 1 and backend.stats.retries == {}
    assert backend.stats.failures == {"unreachable": 1}


def test_a_server_that_answered_before_is_retried_when_it_goes_away(proxy):
    backend = open_openai(
        ModelSpec.parse(f"openai:smollm2@{proxy.base_url}", {**FAST, "max_retries": 2})
    )
    ask(backend)
    proxy.stop()
    with pytest.raises(BackendUnavailable) as caught:
        ask(backend)
    assert not isinstance(caught.value, BackendUnreachable)
    assert backend.stats.retries == {"connection": 2}


def test_a_key_in_the_query_string_is_sent_but_never_recorded(proxy, caplog):
    caplog.set_level(logging.DEBUG)
    spec = ModelSpec.parse(f"openai:smollm2@{proxy.base_url}?api_key={QUERY_KEY}&x=1", FAST)
    backend = open_openai(spec)
    ask(backend)
    proxy.rules[:] = [lambda body: "500"]
    with pytest.raises(BackendUnavailable) as caught:
        ask(backend)
    # the server got it, as a query parameter of the chat completions path
    assert proxy.paths[0] == f"/v1/chat/completions?api_key={QUERY_KEY}&x=1"
    recorded = [
        str(backend.spec),
        repr(backend),
        json.dumps(backend.describe()),
        backend.stats.model_dump_json(),
        caught.value.one_line(),
        caplog.text,
        json.dumps(scrub({"attacker": {"spec": str(spec)}})),
    ]
    assert [text for text in recorded if QUERY_KEY in text] == []
    assert backend.describe()["base_url"].endswith("/v1?api_key=***&x=1")


def test_a_spec_read_back_with_its_key_masked_says_so():
    with pytest.raises(ConfigError, match="masked"):
        open_openai(ModelSpec.parse("openai:m@http://127.0.0.1:1/v1?api_key=***"))


def test_lone_surrogates_in_a_reply_become_replacement_characters(proxy):
    # llama_cpp.server refuses response_format json_schema (a 500): the request the
    # backend falls back to would go to the model untouched, the fault spent on the refusal
    options = {**FAST, "structured": "json_object_schema"}
    backend = open_openai(ModelSpec.parse(f"openai:smollm2@{proxy.base_url}", options))
    proxy.faults.append(("reply", "four \ud800"))
    completion = ask(backend)
    assert completion.text == "four \ufffd"
    # inside a structured reply, the escape decodes only when the JSON is parsed
    proxy.faults.append(("reply", '{"final_answer": "4 \\udfff"}'))
    completion = ask(backend, json_schema=SCHEMA)
    assert completion.data == {"final_answer": "4 \ufffd"}
    assert proxy.served == ["reply", "reply"] and backend.stats.repairs == 0
    completion.model_dump_json().encode("utf-8")  # writable
