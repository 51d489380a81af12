"""The scripted backend: canned replies, every call recorded, optional fixed latency.

It exists for tests of what is *around* a model (the engine, the CLI, resume):

* ``ScriptedBackend(replies=[...])`` from Python; replies are strings, dicts (sent as
  JSON text) or ``{"__error__": "timeout" | "unavailable" | "rate_limited" | "error"}``
  to make that call fail, or ``{"__cut__": TEXT}`` for a reply cut off at the token limit;
* ``scripted:PATH`` reads the replies from a JSON list or a JSONL file;
* ``scripted:package.module:function`` calls ``function(request) -> str | dict`` for
  each call, for replies that depend on the prompt.

Replies cycle when the queue runs out (``cycle = false`` raises instead). Option
``latency`` (seconds) sleeps in each call, as a stand-in for model time.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from ..backends import Backend, Completion, CompletionRequest, ModelSpec, backend_options
from ..errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    RateLimited,
)
from ..hookspecs import hookimpl
from ..inputs import iter_jsonl, load_json
from ..records import Record
from ..structured import extract_json_object

Reply = str | dict[str, Any]
Responder = Callable[[CompletionRequest], Reply]

_ERRORS = {
    "timeout": BackendTimeout,
    "unavailable": BackendUnavailable,
    "rate_limited": RateLimited,
    "error": BackendError,
}


class ScriptedBackend(Backend):
    max_concurrency = 1024

    def __init__(
        self,
        replies: list[Reply] | Responder | None = None,
        *,
        spec: ModelSpec | None = None,
        latency: float = 0.0,
        cycle: bool = True,
    ):
        super().__init__(spec or ModelSpec(prefix="scripted", rest="inline"))
        self._responder: Responder | None = replies if callable(replies) else None
        self._replies: list[Reply] = [] if callable(replies) else list(replies or [])
        self._next = 0
        self.latency = latency
        self.cycle = cycle
        self.calls: list[CompletionRequest] = []

    def queue(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    def _take(self, request: CompletionRequest) -> Reply:
        if self._responder is not None:
            return self._responder(request)
        if not self._replies:
            raise BackendError("scripted backend has no replies queued")
        if self._next >= len(self._replies):
            if not self.cycle:
                raise BackendError("scripted backend ran out of replies")
            self._next = 0
        reply = self._replies[self._next]
        self._next += 1
        return reply

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        self.calls.append(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        reply = self._take(request)
        if isinstance(reply, dict) and "__error__" in reply:
            kind = reply["__error__"]
            raise _ERRORS.get(kind, BackendError)(f"scripted failure: {kind}")
        cut = isinstance(reply, dict) and "__cut__" in reply
        if cut:
            reply = reply["__cut__"]
        text = reply if isinstance(reply, str) else json.dumps(reply)
        data = None
        if request.json_schema is not None:
            try:
                data = extract_json_object(text)
            except Exception:
                data = None
        prompt_chars = sum(len(m.content) for m in request.messages)
        return Completion(
            text=text,
            data=data,
            prompt_tokens=max(1, prompt_chars // 4),
            completion_tokens=max(1, len(text) // 4),
            seconds=time.perf_counter() - started,
            finish_reason="length" if cut else "stop",
            model=str(self.spec),
        )


def solving_blind(request) -> bool:
    """Whether ``request`` is the Judge solving a question blind (not the Defender)."""
    from ..engine.solving import SOLVE_SYSTEM

    return bool(request.messages) and request.messages[0].content == SOLVE_SYSTEM


def attacking(request) -> bool:
    """Whether ``request`` asks the Attacker for a question: in JSON with a ``text`` key,
    or, code-first, in the reply form of :data:`nanoflux.engine.programs.PROGRAM_REPLY_FORMAT`."""
    from ..engine.programs import PROGRAM_REPLY_FORMAT

    if request.json_schema is not None:
        return "text" in request.json_schema.get("properties", {})
    return bool(request.messages) and PROGRAM_REPLY_FORMAT in request.messages[-1].content


def program_reply(text: str, program: str) -> str:
    """A code-first Attacker's reply as a model writes it: the problem, then its program."""
    from ..engine.programs import ProgramDraft

    return ProgramDraft(text=text, program=program).as_reply()


def defender_reply(final_answer: str, reasoning: str = "") -> str:
    """A Defender's reply as a model writes it: its reasoning, then the answer line."""
    return f"{reasoning}\nFinal answer: {final_answer}".strip()


def judge_reply(**changes: Any) -> dict[str, Any]:
    """A Judge reply that accepts the question: the reference right, the Defender wrong,
    sound hops, good scores. ``changes`` override fields (``reasoning_quality=2``)."""
    return {
        "rationale": "The reference solution is correct and each step follows.",
        "reference_correct": True,
        "defender_correct": False,
        "hops_real": True,
        "coherence": 4,
        "safety": 5,
        "reasoning_quality": 4,
        **changes,
    }


def _load_replies(source: str) -> list[Reply] | Responder:
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix == ".jsonl":
            return [reply for _, reply in iter_jsonl(path, error=ConfigError, objects=False)]
        replies = load_json(path, error=ConfigError)
        if not isinstance(replies, list):
            raise ConfigError(f"{path}: a scripted reply file must hold a JSON list")
        return replies
    if ":" in source:
        module_name, _, attribute = source.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"scripted:{source}: cannot import responder: {exc}") from exc
    raise ConfigError(
        f"scripted:{source}: no such reply file",
        hint="use scripted:PATH.json(l) or scripted:package.module:function",
    )


class ScriptedOptions(Record):
    """``latency``: seconds each reply takes; ``cycle``: start the replies again when
    they run out (else a reply past the last is an error)."""

    latency: float = Field(default=0.0, ge=0)
    cycle: bool = True


def open_scripted(spec: ModelSpec) -> ScriptedBackend:
    options = backend_options(ScriptedOptions, str(spec), dict(spec.options), "scripted")
    return ScriptedBackend(
        _load_replies(spec.rest), spec=spec, latency=options.latency, cycle=options.cycle
    )


@hookimpl
def register_backends(register):
    register("scripted", open_scripted, description="canned replies for tests")
