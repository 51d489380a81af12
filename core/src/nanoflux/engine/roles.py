"""Asking a model for one structured record, with a single repair on bad output.

Malformed output never stops a run: a reply that is not the record we asked for gets
one follow-up naming what was wrong; a second failure becomes a :class:`RoleFailure`
with its cause, which the round records as a failed attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..backends import Backend, Completion, CompletionRequest
from ..errors import BackendError, ModelOutputError
from ..records import ChatMessage, Usage
from ..structured import extract_json_object, own_json_object

R = TypeVar("R", bound=BaseModel)


class RoleFailure(Exception):
    """A role could not produce its record. ``reason`` goes into candidates.jsonl."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Seat:
    """A backend in a role, with a limit on calls in flight shared by every role using it."""

    backend: Backend
    limit: asyncio.Semaphore
    usage: dict[str, Usage] = field(default_factory=dict)

    async def complete_n(self, request: CompletionRequest, n: int) -> list[Completion]:
        """``n`` replies to one request (:meth:`Backend.complete_n`): one call in flight."""
        async with self.limit:
            return await self.backend.complete_n(request, n)


def salvage_last_string(
    text: str, schema: dict[str, Any], read: Callable[[str], Any] = extract_json_object
) -> dict[str, Any] | None:
    """A reply cut off inside the schema's last property, a string, closed and read (by
    ``read``): every other field is whole. None when the cut fell anywhere else."""
    last = list(schema.get("properties", {}))[-1:]
    if not last or schema["properties"][last[0]].get("type") != "string":
        return None
    marker = f'"{last[0]}"'
    if marker not in text:
        return None
    for ending in ('"}', '\\"}', '"}'[1:]):
        try:
            data = read(text + ending)
        except ModelOutputError:
            continue
        if isinstance(data, dict) and set(data) >= set(schema.get("required", [])):
            return data
    return None


def _problem(
    completion: Completion,
    record_type: type[R],
    salvage: dict[str, Any] | None,
    read: Callable[[str], Any],
) -> tuple[R | None, str]:
    if completion.finish_reason == "length" and completion.data is None:
        data = salvage_last_string(completion.text, salvage, read) if salvage else None
        if data is not None:
            completion = completion.model_copy(update={"data": data})
        else:
            tail = " ".join(completion.text[-80:].split())
            return None, (
                f"the reply was cut off at the token limit (runaway reply), ending {tail!r}"
            )
    data = completion.data
    if data is None:
        try:
            data = read(completion.text)
        except ModelOutputError as exc:
            return None, exc.message
    try:
        return record_type.model_validate(data), ""
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in exc.errors()[:5]
        ]
        return None, "; ".join(lines)


async def complete_counted(
    seat: Seat, request: CompletionRequest, *, role: str, usage: Usage
) -> Completion:
    """One call to the model in ``seat``, counted in ``usage``; a backend failure becomes
    the role's :class:`RoleFailure`, unless no later call could succeed (``stops_run``)."""
    return (await complete_counted_n(seat, request, role=role, usages=[usage]))[0]


async def complete_counted_n(
    seat: Seat, request: CompletionRequest, *, role: str, usages: list[Usage]
) -> list[Completion]:
    """One reply per usage record to one request, each counted in its own record (a
    reply is a call; the prompt is counted where the backend read it)."""
    try:
        completions = await seat.complete_n(request, len(usages))
    except BackendError as exc:
        for usage in usages:
            usage.calls += 1
            usage.failed_calls += 1
        if exc.stops_run:
            raise  # e.g. a server never reached: no later call can succeed either
        raise RoleFailure("backend_error", f"{role}: {exc.cause}: {exc.message}") from exc
    for usage, completion in zip(usages, completions, strict=True):
        usage.add(
            Usage(
                calls=1,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                seconds=completion.seconds,
            )
        )
    return completions


def _prepared(
    completion: Completion, fill: dict[str, Any] | None, own: Callable[[str], Any] | None
) -> Completion:
    """The completion as :func:`_problem` reads it. With ``own`` (the reader of the reply's
    own object), the backend's reading is set aside: it takes the first object, which may
    be a quote. ``fill``'s fields go beneath the reply's."""
    if own is not None and completion.text.strip():
        completion = completion.model_copy(update={"data": None})
    if not fill:
        return completion
    data = completion.data
    if data is None:
        try:
            data = (own or extract_json_object)(completion.text)
        except ModelOutputError:
            return completion
    return completion.model_copy(update={"data": {**fill, **data}})


def _repair(
    messages: list[ChatMessage], reply: str, problem: str, *, json: bool
) -> list[ChatMessage]:
    """The conversation with the invalid reply and a request to correct it."""
    if json:
        again = "Reply again with only the corrected JSON object."
    else:
        again = "Reply again, in the form asked for."
    return [
        *messages,
        ChatMessage(role="assistant", content=reply[:2000]),
        ChatMessage(role="user", content=f"That reply was not valid: {problem}. {again}"),
    ]


async def ask_for(
    seat: Seat, record_type: type[R], prompt: str, *, usage: Usage, **asked: Any
) -> R:
    """One record of ``record_type`` from the model in ``seat``: :func:`ask_for_drafts`
    with one draft, so a reply that is not the record gets its single repair, and a
    second failure is raised as the :class:`RoleFailure`."""
    (record,) = await ask_for_drafts(seat, record_type, prompt, usages=[usage], **asked)
    if isinstance(record, RoleFailure):
        raise record
    return record


async def ask_for_drafts(
    seat: Seat,
    record_type: type[R],
    prompt: str,
    *,
    role: str,
    usages: list[Usage],
    schema: dict[str, Any] | None,
    max_tokens: int | None,
    temperature: float | None,
    seed: int | None,
    system: str | None = None,
    fill: dict[str, Any] | None = None,
    salvage: bool = False,
    read: Callable[[str], Any] = extract_json_object,
    quoting: str | None = None,
) -> list[R | RoleFailure]:
    """One draft of ``record_type`` per usage record, from one request (the ``j``-th
    sampled with ``seed + j``). A draft that is not the record is its
    :class:`RoleFailure`; only when no draft is, the first gets the follow-up naming what
    was wrong (one draft: the single repair).

    ``fill`` supplies the fields the schema does not ask for (a reply that has them
    anyway keeps its own). ``read`` turns the reply's text into the record's fields
    (raising ModelOutputError if it cannot); with ``schema`` None the reply is free text
    in a form the prompt describes.

    ``salvage``: a reply cut off inside the schema's last property (a string of comment,
    like the Judge's rationale) is read with that string as far as it got.

    ``quoting``: text the prompt holds that the model may quote (the question a Judge rules
    on). The record is then the reply's own final object (:func:`own_json_object`), read
    from its text: never an object from that text, nor the backend's reading, which takes
    the first object and so may take a quote.
    """
    own = None if quoting is None else partial(own_json_object, schema=schema, quoted=quoting)
    read = own or read
    messages = [ChatMessage(role="system", content=system)] if system else []
    messages.append(ChatMessage(role="user", content=prompt))

    def request(attempt: int) -> CompletionRequest:
        return CompletionRequest(
            messages=messages,
            json_schema=schema,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=None if seed is None else seed + attempt,
        )

    def reading(completion: Completion) -> tuple[R | None, str]:
        completion = _prepared(completion, fill, own)
        return _problem(completion, record_type, schema if salvage else None, read)

    completions = await complete_counted_n(seat, request(0), role=role, usages=usages)
    results = [reading(c) for c in completions]
    first, problem = results[0]
    if first is None and not any(r for r, _ in results):
        if completions[0].finish_reason != "length":
            # a runaway runs away again: a repair would only pay for it twice
            messages = _repair(messages, completions[0].text, problem, json=schema is not None)
            repaired = await complete_counted(seat, request(1), role=role, usage=usages[0])
            results[0] = reading(repaired)
    drafts: list[R | RoleFailure] = []
    for usage, (record, problem) in zip(usages, results, strict=True):
        if record is None:
            usage.failed_calls += 1
            drafts.append(RoleFailure(f"malformed_{role}", problem))
        else:
            drafts.append(record)
    return drafts
