"""The model backend interface every role (Attacker, Defender, Judge) talks to.

Backends are async so the engine can keep several rounds in flight against an API;
a backend that cannot run calls in parallel (a local llama.cpp model) says so with
``max_concurrency = 1`` and serialises internally.
"""

from __future__ import annotations

import abc
import asyncio
import re
from typing import Any, TypeVar

from pydantic import Field, ValidationError

from .errors import ConfigError, clip
from .records import ChatMessage, Record

OptionsT = TypeVar("OptionsT", bound=Record)

SPEC_PATTERN = re.compile(r"^(?P<prefix>[a-z][a-z0-9_-]*):(?P<rest>.+)$")


class ModelSpec(Record):
    """``prefix:rest`` plus options, e.g. ``llamacpp:default`` or ``openai:gpt-4o@http://h/v1``."""

    prefix: str
    rest: str
    options: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str, options: dict[str, Any] | None = None) -> ModelSpec:
        match = SPEC_PATTERN.match(spec.strip())
        if not match:
            raise ConfigError(
                f"model spec {clip(repr(spec))} is not of the form PREFIX:MODEL",
                hint="for example llamacpp:default or openai:gpt-4o-mini",
            )
        return cls(prefix=match["prefix"], rest=match["rest"], options=dict(options or {}))

    def __str__(self) -> str:
        return f"{self.prefix}:{self.rest}"


def backend_options(model: type[OptionsT], spec: str, options: dict[str, Any], plugin: str):
    """A backend's per-role options (``[attacker.options]`` and friends) as its record.
    The first bad option is a ConfigError naming the spec and the option, listing the
    options ``plugin`` knows."""
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(root)"
        known = ", ".join(model.model_fields)
        raise ConfigError(
            f"{spec}: option {field}: {first['msg']}", hint=f"{plugin} options: {known}"
        ) from None


class CompletionRequest(Record):
    messages: list[ChatMessage]
    json_schema: dict[str, Any] | None = Field(
        default=None, description="When set, the reply must be one JSON object of this schema."
    )
    max_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None
    stop: list[str] | None = Field(
        default=None,
        description="The reply ends before the first of these strings it would write; "
        "only for a backend that continues replies (Backend.continues_replies).",
    )


def _reseeded(request: CompletionRequest, j: int) -> CompletionRequest:
    if j == 0 or request.seed is None:
        return request
    return request.model_copy(update={"seed": request.seed + j})


class Completion(Record):
    text: str
    data: dict[str, Any] | None = Field(
        default=None, description="The parsed JSON object when json_schema was requested."
    )
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    finish_reason: str | None = None
    model: str = ""
    stop_sequence: str | None = Field(
        default=None,
        description="The string of the request's stop that ended the reply (not in text).",
    )


class Backend(abc.ABC):
    """One opened model. Created by the factory a plugin registers for its prefix."""

    #: how many ``complete`` calls may usefully run at once
    max_concurrency: int = 1
    #: how many replies to one request :meth:`complete_n` decodes together, reading the
    #: prompt once (the Attacker's default ``rounds.drafts``)
    drafts_together: int = 1
    #: a request whose last message is the assistant's is continued from its text (the
    #: reply holds what follows it), and one with ``stop`` ends before the first stop
    #: string, named in ``Completion.stop_sequence``: the Judge's blind solve then writes
    #: its calculations' values with a calculator (:mod:`nanoflux.engine.solving`)
    continues_replies: bool = False
    #: optional capability: counters the backend keeps (calls, retries, failures by
    #: cause), recorded in the run manifest; None for a backend that keeps none
    stats: Record | None = None

    def __init__(self, spec: ModelSpec):
        self.spec = spec

    @abc.abstractmethod
    async def complete(self, request: CompletionRequest) -> Completion:
        """Run one chat completion. Raise :class:`nanoflux.errors.BackendError` on failure."""

    async def complete_n(self, request: CompletionRequest, n: int) -> list[Completion]:
        """``n`` completions of one request, the ``j``-th sampled with seed ``seed + j``
        (as llama-server seeds its ``n`` completions). Here: ``n`` calls; a backend that
        reads the prompt once and decodes the ``n`` replies together overrides it."""
        return list(await asyncio.gather(*(self.complete(_reseeded(request, j)) for j in range(n))))

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release the model or connections. Safe to call twice."""

    def describe(self) -> dict[str, Any]:
        """What the run manifest records about this model. Never include a secret."""
        return {"spec": str(self.spec)}
