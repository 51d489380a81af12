"""The openai backend against a real llama_cpp.server on 127.0.0.1, directly and through faults."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from nanoflux_openai import open_openai
from nanoflux_openai.options import PLACEHOLDER_KEY

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    MissingSecret,
    RateLimited,
)
from nanoflux.plugins import PluginHost
from nanoflux.records import ChatMessage
from nanoflux.testing import BackendContract

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "final_answer": {"type": "string"}},
    "required": ["reasoning", "final_answer"],
    "additionalProperties": False,
}
FAST = {"max_retries": 8, "backoff_base": 0.01, "backoff_max": 0.05, "timeout": 30}


def open_at(base_url, **options):
    return open_openai(ModelSpec.parse(f"openai:smollm2@{base_url}", {**FAST, **options}))


def request(text="Say hi.", **fields):
    fields.setdefault("max_tokens", 8)
    fields.setdefault("temperature", 0.0)
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)], **fields)


def ask(backend, text="Say hi.", **fields):
    return asyncio.run(asyncio.wait_for(backend.complete(request(text, **fields)), 120))


def record_waits(backend):
    waits = []

    async def sleep(seconds):
        waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))

    backend.sleep = sleep
    return waits


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


class TestOpenAIBackendOnLlamaCppServer(BackendContract):
    registered_as = "openai"
    secret_from = "OPENAI_API_KEY"

    @pytest.fixture
    def backend(self, server):
        opened = open_at(server.base_url)
        yield opened
        asyncio.run(opened.aclose())


# -- structured output -------------------------------------------------------------------


def test_refused_json_schema_steps_down_once_and_is_remembered(proxy):
    backend = open_at(proxy.base_url)
    first = ask(backend, "What is 2 + 3? Reply as JSON.", json_schema=ANSWER_SCHEMA, max_tokens=64)
    second = ask(backend, "What is 4 + 4? Reply as JSON.", json_schema=ANSWER_SCHEMA, max_tokens=64)
    # llama_cpp.server refuses json_schema (HTTP 500 naming response_format), takes a schema
    # under json_object and enforces it with a grammar
    formats = [body["response_format"]["type"] for body in proxy.bodies]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert all("schema" in body["response_format"] for body in proxy.bodies[1:])
    assert backend.stats.fallbacks == {"json_schema->json_object_schema": 1}
    assert backend.mode == "json_object_schema"
    assert backend.describe()["structured_mode"] == "json_object_schema"
    assert first.data is not None and second.data is not None
    assert set(first.data) == {"reasoning", "final_answer"}
    assert backend.stats.retries == {}


def test_server_refusing_response_format_falls_back_to_plain_text(proxy):
    proxy.rules.append(lambda body: "refuse_format" if "response_format" in body else None)
    backend = open_at(proxy.base_url)
    completion = ask(backend, "What is 2 + 3?", json_schema=ANSWER_SCHEMA, max_tokens=48)
    assert backend.stats.fallbacks == {
        "json_schema->json_object_schema": 1,
        "json_object_schema->json_object": 1,
        "json_object->text": 1,
    }
    assert backend.mode == "text"
    text_request = proxy.bodies[3]
    assert "response_format" not in text_request
    assert '"final_answer"' in text_request["messages"][-1]["content"]  # schema in the prompt
    # the tiny model may or may not manage JSON without a grammar; either way it is decided
    if completion.data is None:
        assert backend.stats.repairs == 1 and backend.stats.invalid == 1
    assert backend.stats.failed == 0


def test_invalid_reply_gets_one_repair_naming_the_problem(proxy):
    proxy.faults.extend(["garbage"])
    backend = open_at(proxy.base_url, structured="json_object_schema")
    completion = ask(
        backend, "What is 2 + 3? Reply as JSON.", json_schema=ANSWER_SCHEMA, max_tokens=64
    )
    assert proxy.served == ["garbage", "forward"]
    repair = proxy.bodies[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! The answer is five."}
    assert "not valid" in repair[-1]["content"] and "no JSON object" in repair[-1]["content"]
    assert completion.data is not None
    assert (backend.stats.repairs, backend.stats.repaired, backend.stats.invalid) == (1, 1, 0)


def test_still_invalid_after_the_repair_returns_data_none(proxy):
    proxy.faults.extend(["garbage", "garbage"])
    backend = open_at(proxy.base_url, structured="json_object_schema")
    completion = ask(backend, "What is 2 + 3?", json_schema=ANSWER_SCHEMA, max_tokens=64)
    assert completion.data is None
    assert completion.text == "Sure! The answer is five."
    assert completion.prompt_tokens > 0  # usage of both requests
    assert (backend.stats.repairs, backend.stats.invalid, backend.stats.requests) == (1, 1, 2)
    assert backend.stats.succeeded == 1 and backend.stats.failed == 0


def test_schema_violations_are_caught_even_when_the_json_parses(proxy):
    backend = open_at(proxy.base_url, structured="json_object")  # no grammar: no guarantee
    strict = {**ANSWER_SCHEMA, "required": ["reasoning", "final_answer", "confidence"]}
    completion = ask(
        backend,
        "What is 2 + 3? Reply as JSON with reasoning and final_answer.",
        json_schema=strict,
        max_tokens=48,
    )
    if completion.data is not None:
        assert "confidence" in completion.data
    else:
        assert backend.stats.invalid == 1 and backend.stats.last_invalid


# -- transport faults --------------------------------------------------------------------


def test_every_fault_is_retried_and_counted_by_cause(proxy):
    proxy.faults.extend(
        [("429", "1"), "500", "stall", "truncate", "not_json", "bad_json", "drop", ("503", None)]
    )
    backend = open_at(proxy.base_url, timeout=1.5)
    waits = record_waits(backend)
    started = time.monotonic()
    completion = ask(backend, "Say hi.")
    assert time.monotonic() - started < 60
    assert completion.text and completion.completion_tokens > 0
    assert backend.stats.retries == {
        "rate_limited": 1,
        "server_error": 2,
        "timeout": 1,
        "connection": 2,
        "invalid_response": 2,
    }
    assert backend.stats.requests == 9 and backend.stats.succeeded == 1
    assert 1.0 <= waits[0] <= 1.0 + 0.1 * FAST["backoff_base"]  # Retry-After honoured
    assert all(w <= FAST["backoff_max"] for w in waits[1:])


@pytest.mark.parametrize(
    ("fault", "error", "cause"),
    [
        (("429", "0"), RateLimited, "rate_limited"),
        ("500", BackendUnavailable, "server_error"),
        ("stall", BackendTimeout, "timeout"),
        ("drop", BackendUnavailable, "connection"),
        ("not_json", BackendUnavailable, "invalid_response"),
    ],
)
def test_exhausted_retries_raise_the_matching_error(proxy, fault, error, cause):
    proxy.rules.append(lambda body: fault)
    backend = open_at(proxy.base_url, max_retries=2, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(error) as caught:
        ask(backend)
    assert time.monotonic() - started < 20
    assert caught.value.cause == error.cause
    assert cause in str(caught.value) and "after 3 attempts" in str(caught.value)
    assert backend.stats.retries == {cause: 2}
    assert backend.stats.failures == {error.cause: 1}
    assert backend.stats.failed == 1 and backend.stats.requests == 3


def test_retry_after_as_http_date_is_honoured_and_capped(proxy):
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    proxy.faults.extend([("429", later)])
    backend = open_at(proxy.base_url, retry_after_max=0.5)
    waits = record_waits(backend)
    ask(backend)
    assert len(waits) == 1 and 0.5 <= waits[0] <= 0.5 + 0.1 * FAST["backoff_base"]


def test_a_flaky_run_finishes_with_every_call_accounted_for(proxy):
    proxy.faults.extend(
        ["500", ("429", "0"), "drop", "stall", "truncate", "not_json", "500", "500", "stall"]
    )
    backend = open_at(proxy.base_url, max_retries=1, timeout=1.0, concurrency=4)

    async def run():
        calls = [backend.complete(request(f"Count to {i}.", max_tokens=4)) for i in range(10)]
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 90)

    outcomes = asyncio.run(run())
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(f, BackendError) for f in failures), failures
    assert backend.stats.succeeded == len(outcomes) - len(failures)
    assert backend.stats.failed == len(failures) == sum(backend.stats.failures.values())
    assert sorted(f.cause for f in failures) == sorted(
        c for c, n in backend.stats.failures.items() for _ in range(n)
    )
    assert sum(backend.stats.retries.values()) >= 1
    assert backend.stats.succeeded >= 1


def test_concurrency_option_bounds_requests_in_flight(proxy):
    backend = open_at(proxy.base_url, concurrency=2)
    assert backend.max_concurrency == 2

    async def run():
        return await asyncio.gather(*(backend.complete(request(max_tokens=4)) for _ in range(6)))

    assert len(asyncio.run(asyncio.wait_for(run(), 120))) == 6
    assert proxy.peak == 2


def test_non_retryable_errors_fail_at_once_with_their_cause(proxy):
    proxy.rules.append(lambda body: ("echo_key_401",))
    backend = open_at(proxy.base_url)
    with pytest.raises(BackendError) as caught:
        ask(backend)
    assert caught.value.cause == "unauthorized"
    assert backend.stats.requests == 1 and backend.stats.retries == {}


def test_a_refused_sampling_parameter_is_dropped_and_remembered(proxy):
    refusal = "Unsupported value: 'temperature' does not support 0.0 with this model."
    proxy.rules.append(lambda body: ("400", refusal) if "temperature" in body else None)
    backend = open_at(proxy.base_url)
    ask(backend, temperature=0.0)
    ask(backend, temperature=0.5)
    assert ["temperature" in body for body in proxy.bodies] == [True, False, False]
    assert backend.stats.fallbacks == {"drop temperature": 1}
    assert backend.describe()["dropped_parameters"] == ["temperature"]
    assert backend.stats.failed == 0 and backend.stats.retries == {}


def test_token_usage_comes_from_the_server(server):
    backend = open_at(server.base_url)
    completion = ask(backend, "Say hi.", max_tokens=5)
    assert 0 < completion.completion_tokens <= 5 and completion.prompt_tokens > 5
    assert backend.stats.completion_tokens == completion.completion_tokens


# -- keys --------------------------------------------------------------------------------

FAKE_KEY = "sk-nanofluxLEAKCHECK-7f3a9c2e1d"


def test_the_key_never_leaks(proxy, monkeypatch, caplog):
    monkeypatch.setenv("NANOFLUX_TEST_KEY", FAKE_KEY)
    caplog.set_level(logging.DEBUG)
    backend = open_at(proxy.base_url, api_key_env="NANOFLUX_TEST_KEY", max_retries=1, timeout=1)
    errors = []
    ask(backend)  # a success
    for fault in (("echo_key_401",), "500", "stall"):
        proxy.rules[:] = [lambda body, fault=fault: fault]
        with pytest.raises(BackendError) as caught:
            ask(backend)
        errors.append(caught.value)
    assert proxy.authorizations[0] == f"Bearer {FAKE_KEY}"  # it was really sent
    texts = [caplog.text, repr(backend.describe()), backend.stats.model_dump_json(), repr(backend)]
    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    assert [t for t in texts if FAKE_KEY in t or "LEAKCHECK" in t] == []
    assert "unauthorized" in str(errors[0])


def test_missing_key_for_openai_names_the_variable(monkeypatch):
    with pytest.raises(MissingSecret, match="OPENAI_API_KEY"):
        open_openai(ModelSpec.parse("openai:gpt-4o-mini"))
    monkeypatch.delenv("MY_TEAM_KEY", raising=False)
    with pytest.raises(MissingSecret, match="MY_TEAM_KEY"):
        open_openai(ModelSpec.parse("openai:gpt-4o-mini", {"api_key_env": "MY_TEAM_KEY"}))


def test_local_server_without_a_key_gets_the_placeholder(proxy, monkeypatch):
    backend = open_at(proxy.base_url)
    ask(backend)
    assert proxy.authorizations == [f"Bearer {PLACEHOLDER_KEY}"]
    assert backend.describe()["credential"].startswith("placeholder")
    # a variable the user named explicitly must exist, whatever the server
    monkeypatch.delenv("MY_TEAM_KEY", raising=False)
    with pytest.raises(MissingSecret, match="MY_TEAM_KEY"):
        open_at(proxy.base_url, api_key_env="MY_TEAM_KEY")


# -- specs, options, registration ----------------------------------------------------------


def test_spec_forms(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    official = open_openai(ModelSpec.parse("openai:gpt-4o-mini"))
    assert official.endpoint.base_url == "https://api.openai.com/v1"
    assert (
        official.request_body([], None, "text", request(max_tokens=5))["max_completion_tokens"] == 5
    )
    local = open_openai(ModelSpec.parse("openai:qwen2.5:7b@http://127.0.0.1:11434/v1/"))
    assert (local.endpoint.model, local.endpoint.base_url) == (
        "qwen2.5:7b",
        "http://127.0.0.1:11434/v1",
    )
    assert local.request_body([], None, "text", request(max_tokens=5))["max_tokens"] == 5
    with pytest.raises(ConfigError, match="credentials"):
        open_openai(ModelSpec.parse("openai:m@http://user:pw@127.0.0.1:1/v1"))
    with pytest.raises(ConfigError, match="http"):
        open_openai(ModelSpec.parse("openai:m@ftp://127.0.0.1/v1"))
    with pytest.raises(ConfigError, match="concurrency"):
        open_openai(ModelSpec.parse("openai:m@http://127.0.0.1:1/v1", {"concurrency": 0}))
    with pytest.raises(ConfigError, match="timout"):
        open_openai(ModelSpec.parse("openai:m@http://127.0.0.1:1/v1", {"timout": 3}))


def test_request_fields_override_role_options():
    backend = open_openai(
        ModelSpec.parse(
            "openai:m@http://127.0.0.1:1/v1",
            {"temperature": 0.9, "max_tokens": 100, "seed": 1, "extra_body": {"top_k": 20}},
        )
    )
    body = backend.request_body([], None, "text", request(max_tokens=7, temperature=0.1, seed=3))
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.1, 7, 3)
    defaults = backend.request_body(
        [], None, "text", CompletionRequest(messages=[ChatMessage(role="user", content="x")])
    )
    assert (defaults["temperature"], defaults["max_tokens"], defaults["seed"]) == (0.9, 100, 1)
    assert defaults["extra_body"] == {"top_k": 20}


def test_closed_backend_refuses_calls(server):
    backend = open_at(server.base_url)
    asyncio.run(backend.aclose())
    with pytest.raises(BackendError, match="closed"):
        ask(backend)


def test_plugin_registers_through_the_host_and_imports_lightly():
    host = PluginHost.load(allow=["openai"])
    assert not host.errors and "openai" in host.backends and "backend" in host.benchmarks
    code = "import sys, nanoflux_openai; assert 'openai' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_throughput_benchmark_compares_plugin_and_bare_client_per_level():
    from nanoflux_openai.bench import throughput_benchmark

    result = throughput_benchmark(
        {"openai_levels": "1,2", "openai_requests": "2", "openai_max_tokens": "4"}
    )
    assert set(result["throughput"]) == {"1", "2"}
    for level in result["throughput"].values():
        assert level["plugin_tok_s"] > 0 and level["bare_tok_s"] > 0 and level["ratio"] > 0
        assert level["plugin_tokens"] == level["bare_tokens"] > 0
        assert level["plugin_failed_calls"] == 0
