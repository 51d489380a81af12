"""What went wrong with one HTTP request, whether to try again, and how long to wait.

Kept apart from the backend so the policy can be tested without a server: every
failure becomes a :class:`Failure` with a short ``cause``; retryable causes are
rate limits, server errors, timeouts, dropped connections and replies that are not a
chat completion. ``Retry-After`` (seconds, an HTTP date, or OpenAI's
``retry-after-ms``) is honoured up to a cap; otherwise the wait grows exponentially
with jitter, so lanes that failed together do not retry together.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nanoflux.errors import BackendError, BackendTimeout, BackendUnavailable, RateLimited

from .redact import redact

RETRYABLE = {"rate_limited", "server_error", "timeout", "connection", "invalid_response"}

# the error class raised once retries are exhausted, by cause
ERRORS: dict[str, type[BackendError]] = {
    "rate_limited": RateLimited,
    "timeout": BackendTimeout,
    "server_error": BackendUnavailable,
    "connection": BackendUnavailable,
    "invalid_response": BackendUnavailable,
}

# sampling parameters some models refuse (OpenAI's reasoning models take no temperature);
# the backend stops sending one it was told is unsupported
DROPPABLE = ("temperature", "seed")
_UNSUPPORTED = re.compile(r"unsupported (?:parameter|value): '(\w+)'", re.IGNORECASE)

# a 400/422 naming one of these is the server refusing a structured-output mode
# (the backend steps down a mode only when its request carried a response_format)
FORMAT_WORDS = ("response_format", "json_schema", "json_object")


class InvalidReply(ValueError):
    """A 200 reply that is not a chat completion (an HTML page, a JSON error, nothing)."""


@dataclass
class Failure:
    cause: str
    detail: str
    status: int | None = None
    retry_after: float | None = None
    parameter: str | None = None  # for refused_parameter: the one to stop sending
    connect_failed: bool = False  # no connection was made at all (refused, no such host)

    @property
    def retryable(self) -> bool:
        return self.cause in RETRYABLE

    def error(self, spec: str, attempts: int) -> BackendError:
        tried = f" (after {attempts} attempts)" if attempts > 1 else ""
        error = ERRORS.get(self.cause, BackendError)(f"{spec}: {self.cause}: {self.detail}{tried}")
        if self.cause not in ERRORS:
            error.cause = self.cause  # e.g. unauthorized, not_found, bad_request
        return error


def parse_retry_after(headers: Any, now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait, or None if it does not say (or says nonsense)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(exc: BaseException, secret: str | None) -> Failure:
    """The :class:`Failure` an exception from the SDK (or our own checks) stands for."""
    import openai

    if isinstance(exc, asyncio.TimeoutError | openai.APITimeoutError):
        return Failure("timeout", "no reply within the timeout")
    if isinstance(exc, openai.APIConnectionError):
        reason = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        # By name: the SDK's HTTP library is httpx in some releases and httpx2 (its own
        # copy, whose classes are not httpx's) in others; both raise ConnectError.
        connect_failed = any(
            kind.__name__ == "ConnectError" or issubclass(kind, ConnectionRefusedError)
            for kind in type(exc.__cause__).__mro__
        )
        what = "could not connect" if connect_failed else "connection failed or dropped"
        return Failure("connection", f"{what} ({reason})", connect_failed=connect_failed)
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc, secret)
    if isinstance(exc, InvalidReply):
        return Failure("invalid_response", redact(str(exc), secret))
    if isinstance(exc, ValueError | openai.APIResponseValidationError):
        return Failure("invalid_response", "the reply was not valid JSON")
    return Failure("backend_error", redact(f"{type(exc).__name__}: {exc}", secret))


def _status_failure(exc: Any, secret: str | None) -> Failure:
    status = exc.status_code
    retry_after = parse_retry_after(getattr(exc.response, "headers", None))
    text = str(getattr(exc, "message", "") or "")
    message = redact(text, secret, limit=200)
    lowered = text.lower()
    if (status in (400, 422) and any(word in lowered for word in FORMAT_WORDS)) or (
        # llama-cpp-python's server answers an unknown response_format with a 500
        status == 500 and "response_format" in lowered
    ):
        return Failure("refused_format", f"HTTP {status} {message}", status)
    unsupported = _UNSUPPORTED.search(text) if status == 400 else None
    if unsupported and unsupported.group(1) in DROPPABLE:
        name = unsupported.group(1)
        return Failure("refused_parameter", f"HTTP 400 {message}", status, parameter=name)
    if status == 429:
        return Failure("rate_limited", f"HTTP 429 {message}", status, retry_after)
    if status == 408:
        return Failure("timeout", "HTTP 408 request timeout", status, retry_after)
    if status == 409 or status >= 500:
        return Failure("server_error", f"HTTP {status} {message}", status, retry_after)
    if status in (401, 403):
        # the server's text may quote part of the key: say only what to check
        return Failure("unauthorized", f"HTTP {status}: the server refused the API key", status)
    if status == 404:
        return Failure("not_found", f"HTTP 404 {message}", status)
    return Failure("bad_request", f"HTTP {status} {message}", status)


class RetryPolicy:
    """How long to wait before retry number ``attempt`` (0-based)."""

    def __init__(
        self, base: float, maximum: float, retry_after_max: float, rng: random.Random | None = None
    ):
        self.base = base
        self.maximum = maximum
        self.retry_after_max = retry_after_max
        self.rng = rng or random.Random()

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            # the server knows best; a little jitter keeps waiting lanes apart
            return min(retry_after, self.retry_after_max) + self.rng.uniform(0, 0.1 * self.base)
        ceiling = min(self.maximum, self.base * 2**attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
