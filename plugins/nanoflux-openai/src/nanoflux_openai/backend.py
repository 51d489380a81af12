"""The ``openai:`` backend: chat completions from OpenAI or an OpenAI-compatible server.

The SDK's own retries are off (``max_retries=0``): retrying here makes every retry
visible in :attr:`OpenAIBackend.stats` and testable. Structured replies are checked
against the requested schema; an invalid one gets one repair request naming the
problems, and if that is invalid too the call returns ``data=None`` (the same
contract as the llamacpp backend), which the engine counts as malformed output.
Transport failures that outlast the retries raise a :class:`BackendError` subclass.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pydantic import Field

from nanoflux.backends import Backend, Completion, CompletionRequest, ModelSpec
from nanoflux.errors import BackendError, BackendUnreachable, MissingSecret
from nanoflux.inputs import clean_text
from nanoflux.records import Record
from nanoflux.secrets import mask_urls
from nanoflux.structured import structured_data

from .formats import MODES, next_mode, repair_messages, response_format, with_schema_instruction
from .options import (
    DEFAULT_KEY_ENV,
    PLACEHOLDER_KEY,
    Endpoint,
    OpenAIOptions,
    parse_endpoint,
    parse_options,
)
from .retry import Failure, InvalidReply, RetryPolicy, classify

logger = logging.getLogger("nanoflux_openai")


class _MaskedUrls(logging.Filter):
    """The SDK's HTTP library logs each request's URL, a key in its query string too."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "://" in text:
            record.msg, record.args = mask_urls(text), None
        return True


# httpx in some openai releases, httpx2 (the SDK's own copy) in others
for _name in ("httpx", "httpx2", "httpcore", "httpcore2", "openai._base_client"):
    logging.getLogger(_name).addFilter(_MaskedUrls())


class OpenAIStats(Record):
    """What happened on the wire; the engine and ``nanoflux bench`` read ``backend.stats``."""

    calls: int = 0
    succeeded: int = 0
    failed: int = 0
    requests: int = Field(default=0, description="HTTP requests, retries and repairs included")
    retries: dict[str, int] = Field(default_factory=dict, description="by cause")
    failures: dict[str, int] = Field(default_factory=dict, description="failed calls by cause")
    retry_wait_seconds: float = 0.0
    fallbacks: dict[str, int] = Field(default_factory=dict, description="'from->to' mode steps")
    repairs: int = 0
    repaired: int = 0
    invalid: int = Field(default=0, description="structured calls returned with data=None")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_error: str | None = None
    last_invalid: str | None = None


class _Refused(Exception):
    """The server refused part of the request (a structured mode, a parameter): adapt, resend."""

    def __init__(self, failure: Failure):
        self.failure = failure


@dataclass
class _Reply:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    model: str


@dataclass
class _LoopBinding:
    """An SDK client and the in-flight limit, for one event loop (neither survives a loop)."""

    loop: asyncio.AbstractEventLoop
    client: Any
    slots: asyncio.Semaphore


def _count(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def read_reply(response: Any) -> _Reply:
    choices = getattr(response, "choices", None)
    if not choices:
        kind = type(response).__name__
        raise InvalidReply(f"the server's reply ({kind}) is not a chat completion")
    choice = choices[0]
    message = getattr(choice, "message", None)
    usage = getattr(response, "usage", None)
    return _Reply(
        # a "\ud800" escape in the reply is a lone surrogate, which no file can hold
        text=clean_text(getattr(message, "content", None) or ""),
        finish_reason=getattr(choice, "finish_reason", None),
        prompt_tokens=getattr(usage, "prompt_tokens", None) or 0,
        completion_tokens=getattr(usage, "completion_tokens", None) or 0,
        model=getattr(response, "model", None) or "",
    )


class OpenAIBackend(Backend):
    def __init__(
        self,
        spec: ModelSpec,
        endpoint: Endpoint,
        options: OpenAIOptions,
        api_key: str,
        *,
        key_source: str,
    ):
        # the spec as runs record it (stats, logs, errors): a key in the URL masked
        super().__init__(spec.model_copy(update={"rest": mask_urls(spec.rest)}))
        self.endpoint = endpoint
        self.options = options
        self.max_concurrency = options.concurrency
        self.stats = OpenAIStats()
        self.policy = RetryPolicy(
            options.backoff_base, options.backoff_max, options.retry_after_max
        )
        self.mode = MODES[0] if options.structured == "auto" else options.structured
        self.sleep = asyncio.sleep  # tests record waits through this
        self._api_key = api_key
        self._key_source = key_source
        self.dropped_parameters: set[str] = set()
        self._binding: _LoopBinding | None = None
        self._closed = False
        # retries are for a server that has answered before; one that never has is
        # most likely not running or not at this URL, and every later call would wait too
        self._answered = False
        if options.token_limit_field == "auto":
            # OpenAI's newer models accept only max_completion_tokens; most servers only max_tokens
            self._token_field = "max_completion_tokens" if endpoint.is_openai else "max_tokens"
        else:
            self._token_field = options.token_limit_field

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.spec})"

    # -- connection ------------------------------------------------------------------

    def _bind(self) -> _LoopBinding:
        if self._closed:
            raise BackendError(f"{self.spec}: the backend is closed")
        loop = asyncio.get_running_loop()
        if self._binding is None or self._binding.loop is not loop:
            import openai

            base_url, query = self.endpoint.client_url()
            client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=base_url,
                default_query=query or None,
                max_retries=0,
                timeout=self.options.timeout,
            )
            self._binding = _LoopBinding(loop, client, asyncio.Semaphore(self.options.concurrency))
        return self._binding

    async def aclose(self) -> None:
        self._closed = True
        binding, self._binding = self._binding, None
        if binding is None:
            return
        try:
            if binding.loop is asyncio.get_running_loop():
                await binding.client.close()
        except Exception as exc:
            logger.debug("%s: closing the client failed: %s", self.spec, type(exc).__name__)

    # -- one call --------------------------------------------------------------------

    async def complete(self, request: CompletionRequest) -> Completion:
        binding = self._bind()
        self.stats.calls += 1
        async with binding.slots:
            started = time.perf_counter()
            try:
                completion = await self._complete(binding.client, request)
            except BackendError as exc:
                self.stats.failed += 1
                _count(self.stats.failures, exc.cause)
                self.stats.last_error = exc.one_line()
                raise
            self.stats.succeeded += 1
            return completion.model_copy(update={"seconds": time.perf_counter() - started})

    async def _complete(self, client: Any, request: CompletionRequest) -> Completion:
        messages = [m.model_dump() for m in request.messages]
        schema = request.json_schema
        reply = await self._chat(client, messages, schema, request)
        prompt_tokens, completion_tokens = reply.prompt_tokens, reply.completion_tokens
        data = None
        if schema is not None:
            data, problem = structured_data(reply.text, schema)
            if data is None:
                self.stats.repairs += 1
                follow_up = repair_messages(messages, reply.text, problem)
                reply = await self._chat(client, follow_up, schema, request)
                prompt_tokens += reply.prompt_tokens
                completion_tokens += reply.completion_tokens
                data, problem = structured_data(reply.text, schema)
                if data is None:
                    self.stats.invalid += 1
                    self.stats.last_invalid = problem
                else:
                    self.stats.repaired += 1
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        return Completion(
            text=reply.text,
            data=data,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=reply.finish_reason,
            model=reply.model or self.endpoint.model,
        )

    def request_body(
        self,
        messages: list[dict[str, Any]],
        schema: dict[str, Any] | None,
        mode: str,
        request: CompletionRequest,
    ) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for one request."""
        options = self.options
        body: dict[str, Any] = {"model": self.endpoint.model, "messages": messages}
        if schema is not None:
            format_ = response_format(mode, schema)
            if format_ is not None:
                body["response_format"] = format_
            if mode != "json_schema":
                body["messages"] = with_schema_instruction(messages, schema)
        temperature = options.temperature if request.temperature is None else request.temperature
        max_tokens = options.max_tokens if request.max_tokens is None else request.max_tokens
        seed = options.seed if request.seed is None else request.seed
        if temperature is not None and "temperature" not in self.dropped_parameters:
            body["temperature"] = temperature
        if max_tokens is not None:
            body[self._token_field] = max_tokens
        if seed is not None and "seed" not in self.dropped_parameters:
            body["seed"] = seed
        if options.extra_body:
            body["extra_body"] = options.extra_body
        return body

    async def _chat(
        self,
        client: Any,
        messages: list[dict[str, Any]],
        schema: dict[str, Any] | None,
        request: CompletionRequest,
    ) -> _Reply:
        """One reply, adapting while the server refuses a structured mode or a parameter."""
        while True:
            mode = self.mode if schema is not None else "text"
            body = self.request_body(messages, schema, mode, request)
            try:
                return await self._send(client, body)
            except _Refused as refused:
                parameter = refused.failure.parameter
                if parameter is not None:
                    if parameter not in self.dropped_parameters:
                        self.dropped_parameters.add(parameter)
                        _count(self.stats.fallbacks, f"drop {parameter}")
                        logger.info("%s: server refused %s; not sending it", self.spec, parameter)
                    continue
                fallback = next_mode(mode)
                if fallback is None:
                    raise refused.failure.error(str(self.spec), 1) from None
                if MODES.index(fallback) > MODES.index(self.mode):
                    # concurrent calls refused in the same mode step down only once
                    self.mode = fallback
                    _count(self.stats.fallbacks, f"{mode}->{fallback}")
                    logger.info("%s: server refused %s output; using %s", self.spec, mode, fallback)

    async def _send(self, client: Any, body: dict[str, Any]) -> _Reply:
        """One HTTP request, retried on transient failures; raises BackendError at the end."""
        attempts = self.options.max_retries + 1
        for attempt in range(attempts):
            self.stats.requests += 1
            try:
                response = await asyncio.wait_for(
                    client.chat.completions.create(**body), timeout=self.options.timeout
                )
                self._answered = True
                return read_reply(response)
            except Exception as exc:
                failure = classify(exc, self._api_key)
            if failure.status is not None or failure.cause == "invalid_response":
                self._answered = True
            elif failure.connect_failed and not self._answered:
                raise BackendUnreachable(
                    f"{self.spec}: cannot connect to {self.endpoint.shown_url} ({failure.detail})",
                    hint="is the server running at this URL? "
                    "Retries are only for a server that has answered before",
                )
            if failure.cause == "refused_format" and "response_format" in body:
                raise _Refused(failure)
            if failure.cause == "refused_parameter" and failure.parameter in body:
                raise _Refused(failure)
            if not failure.retryable or attempt + 1 == attempts:
                break
            delay = self.policy.delay(attempt, failure.retry_after)
            _count(self.stats.retries, failure.cause)
            self.stats.retry_wait_seconds += delay
            logger.warning(
                "%s: %s; retry %d of %d in %.1fs",
                self.spec,
                failure.detail,
                attempt + 1,
                attempts - 1,
                delay,
            )
            await self.sleep(delay)
        # raised outside the except block: the SDK's exception (which may quote the
        # server, and the server may quote the key) is not chained to ours
        raise failure.error(str(self.spec), attempt + 1)

    def describe(self) -> dict[str, Any]:
        options = self.options
        return {
            "spec": str(self.spec),
            "backend": "openai",
            "model": self.endpoint.model,
            "base_url": self.endpoint.shown_url,
            "credential": self._key_source,
            "structured_mode": self.mode,
            "dropped_parameters": sorted(self.dropped_parameters),
            "options": {
                "concurrency": options.concurrency,
                "timeout": options.timeout,
                "max_retries": options.max_retries,
                "backoff_base": options.backoff_base,
                "backoff_max": options.backoff_max,
                "retry_after_max": options.retry_after_max,
                "structured": options.structured,
                "temperature": options.temperature,
                "max_tokens": options.max_tokens,
                "seed": options.seed,
                "token_limit_field": self._token_field,
                "extra_body_fields": sorted(options.extra_body),
            },
            "openai_sdk": metadata.version("openai"),
        }


def _api_key(spec: str, endpoint: Endpoint, options: OpenAIOptions, named: bool) -> tuple[str, str]:
    """The key and where it came from; only a local-style server may go without one."""
    variable = options.api_key_env
    value = os.environ.get(variable, "").strip()
    if value:
        return value, "environment variable"
    if endpoint.is_openai or named:
        raise MissingSecret(
            f"{spec}: environment variable {variable} is not set",
            hint=f"export {variable}=<your key>, or name another variable with option api_key_env",
        )
    logger.info("%s: %s is not set; sending a placeholder key", spec, variable)
    return PLACEHOLDER_KEY, "placeholder (no key set)"


def open_backend(spec: ModelSpec) -> OpenAIBackend:
    # what messages and logs show: a key in the URL masked
    shown = str(spec.model_copy(update={"rest": mask_urls(spec.rest)}))
    options = parse_options(shown, spec.options)
    endpoint = parse_endpoint(spec.rest)
    named = "api_key_env" in spec.options and options.api_key_env != DEFAULT_KEY_ENV
    api_key, source = _api_key(shown, endpoint, options, named)
    return OpenAIBackend(spec, endpoint, options, api_key, key_source=source)
