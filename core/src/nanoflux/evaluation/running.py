"""Asking a model a benchmark's items: each asked under a protocol, answered, read, checked.

A reply that fails or cannot be read counts as wrong and keeps its cause. Items are in
flight together as far as the backend allows (``backend.max_concurrency``); each keeps
its own seconds and tokens. Items answered earlier (a resumed evaluation) are taken as
answered, but whether they are right is decided again here from their prediction: a
stored line is not trusted for it. :mod:`.harness` runs this into a resumable folder.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from ..answers import copied_from_prompt
from ..backends import CompletionRequest
from ..domains import Domain
from ..errors import BackendError, ConfigError
from ..records import Answer, BenchmarkItem
from ..secrets import mask_urls
from .extraction import extract_answer, looks_numeric, numeric_answer, text_answer
from .protocols import Protocol, build_request, make_protocol
from .records import ItemResult, ModelEval
from .statistics import wilson_interval
from .validity import validity


def read_reply(item: BenchmarkItem, text: str, data: dict[str, Any] | None, protocol: Protocol):
    """``(answer, method, reasoning, error)`` of one reply; answer None when unreadable."""
    numeric = looks_numeric(item.answer)
    if protocol.name != "json":
        found = extract_answer(text, choices=item.choices, numeric=numeric)
        if found.answer is None:
            return None, None, text, f"no answer in reply: {text[-120:]!r}"
        return found.answer, found.method, text, None
    if data is None:
        return None, None, text, f"no JSON object in reply: {text[:120]!r}"
    try:
        answer = Answer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        return None, None, text, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    if item.choices:
        found = extract_answer(f"Final answer: {answer.final_answer}", choices=item.choices)
        value = found.answer if found.method == "final_answer" else None
    else:
        value = (numeric_answer if numeric else text_answer)(answer.final_answer)
    if value is None:
        return (
            None,
            None,
            answer.reasoning,
            f"final_answer holds no answer: {answer.final_answer!r}",
        )
    return value, "json", answer.reasoning, None


def check_prediction(
    result: ItemResult,
    domain: Domain,
    item: BenchmarkItem,
    request: CompletionRequest,
    protocol: Protocol,
) -> ItemResult:
    """``result`` with what its prediction decides: whether it is right and whether it
    repeats an answer the prompt shows. A live answer and a resumed one go through here."""
    result.reference, result.correct, result.copied_prompt = item.answer, False, False
    if result.prediction is None:
        return result
    if result.cause == "checker_error":  # checked again now
        result.cause = result.error = None
    shown = "\n".join(message.content for message in request.messages)
    question = request.messages[-1].content if protocol.name == "text" else item.question
    result.copied_prompt = copied_from_prompt(result.prediction, shown, question=question)
    try:
        result.correct = bool(
            domain.check_answer(item.answer, result.prediction, choices=item.choices)
        )
    except Exception as exc:  # a checker bug marks the item, not the run
        result.cause, result.error = "checker_error", f"{type(exc).__name__}: {exc}"
    return result


def resumable(result: ItemResult) -> bool:
    """Whether a stored result stands: answered, or answered unreadably. An item the
    backend failed (timeout, refused connection) was never answered: it is asked again."""
    return result.prediction is not None or result.cause == "malformed_output"


async def answer_item(
    backend,
    domain: Domain,
    item: BenchmarkItem,
    protocol: Protocol,
    *,
    exemplars: list[BenchmarkItem] | None = None,
    seed: int = 0,
) -> ItemResult:
    request = build_request(protocol, domain, item, exemplars or [], seed=seed)
    result = ItemResult(id=item.id, reference=item.answer)
    started = time.perf_counter()
    try:
        completion = await backend.complete(request)
    except BackendError as exc:
        result.cause, result.error = exc.cause, exc.one_line()
        result.seconds = time.perf_counter() - started
        return result
    result.prompt_tokens = completion.prompt_tokens
    result.completion_tokens = completion.completion_tokens
    result.finish_reason = completion.finish_reason
    result.seconds = completion.seconds or time.perf_counter() - started
    answer, method, reasoning, error = read_reply(item, completion.text, completion.data, protocol)
    result.reasoning = reasoning
    if answer is None:
        result.cause, result.error = "malformed_output", error
        return result
    result.extraction = method
    result.prediction = answer
    return check_prediction(result, domain, item, request, protocol)


def summarise(
    model: str,
    benchmark: str,
    results: list[ItemResult],
    seconds: float,
    protocol: Protocol | str = "json",
) -> ModelEval:
    if isinstance(protocol, str):
        protocol = make_protocol(protocol)
    correct = sum(r.correct for r in results)
    n = len(results)
    return ModelEval(
        model=mask_urls(model),
        benchmark=benchmark,
        answer_format=protocol.name,
        protocol=protocol,
        n=n,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        ci95=wilson_interval(correct, n),
        failures=dict(Counter(r.cause for r in results if r.cause)),
        validity=validity(results),
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
        seconds=seconds,
    )


async def evaluate_model_async(
    host,
    model: str,
    domain: Domain,
    benchmark: str,
    items: list[BenchmarkItem],
    *,
    protocol: Protocol | None = None,
    exemplars: list[BenchmarkItem] | None = None,
    options: dict[str, Any] | None = None,
    max_tokens: int | None = None,
    concurrency: int = 8,
    seed: int = 0,
    answer_format: str | None = None,
    answered: dict[str, ItemResult] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_item: Callable[[ItemResult], None] | None = None,
) -> tuple[ModelEval, list[ItemResult]]:
    """Evaluate ``model`` on ``items``. ``protocol`` says how; ``answer_format`` and
    ``max_tokens`` alone name a protocol without exemplars (json, text, cot).

    Items in ``answered`` (by id) that stand (:func:`resumable`) are not asked again;
    whether they are right is decided again (:func:`check_prediction`).
    ``on_item`` sees each newly answered item as soon as it is checked. The summary's
    seconds are this call's wall time plus the answered items' own seconds."""
    if protocol is None:
        protocol = make_protocol(answer_format or "json", max_tokens=max_tokens or 512)
    if protocol.name == "cot-fewshot" and len(exemplars or []) < protocol.shots:
        raise ConfigError(f"protocol cot-fewshot needs {protocol.shots} exemplars")
    answered = {k: r for k, r in (answered or {}).items() if resumable(r)}
    started = time.perf_counter()
    results: list[ItemResult | None] = [
        resumed(answered.get(item.id), domain, item, protocol, exemplars, seed + i)
        for i, item in enumerate(items)
    ]
    if any(result is None for result in results):  # one read back opens no model
        backend = host.open_backend(model, options)
        try:
            limit = max(1, min(concurrency, backend.max_concurrency))

            def ask(index: int, item: BenchmarkItem):
                seed_of = seed + index
                return answer_item(
                    backend, domain, item, protocol, exemplars=exemplars, seed=seed_of
                )

            await _ask_missing(items, results, ask, limit, on_item, progress)
        finally:
            await backend.aclose()
    finished = [r for r in results if r is not None]
    asked = {item.id for item in items}
    seconds = time.perf_counter() - started
    seconds += sum(r.seconds for k, r in answered.items() if k in asked)
    return summarise(model, benchmark, finished, seconds, protocol), finished


async def _ask_missing(
    items: list[BenchmarkItem],
    results: list[ItemResult | None],
    ask: Callable[[int, BenchmarkItem], Awaitable[ItemResult]],
    concurrency: int,
    on_item: Callable[[ItemResult], None] | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Fill the gaps of ``results`` by asking their items, ``concurrency`` at a time."""
    limit = asyncio.Semaphore(concurrency)
    done = sum(result is not None for result in results)

    async def one(index: int, item: BenchmarkItem) -> None:
        nonlocal done
        async with limit:
            results[index] = result = await ask(index, item)
        done += 1
        if on_item:
            on_item(result)
        if progress:
            progress(done, len(items))

    missing = [(i, item) for i, item in enumerate(items) if results[i] is None]
    await asyncio.gather(*(one(i, item) for i, item in missing))


def resumed(
    result: ItemResult | None,
    domain: Domain,
    item: BenchmarkItem,
    protocol: Protocol,
    exemplars: list[BenchmarkItem] | None,
    seed: int,
) -> ItemResult | None:
    """A stored result of ``item`` with its prediction checked again (None: none stored)."""
    if result is None:
        return None
    request = build_request(protocol, domain, item, exemplars or [], seed=seed)
    return check_prediction(result.model_copy(), domain, item, request, protocol)


def evaluate_model(host, model: str, domain: Domain, benchmark: str, items, **kwargs):
    return asyncio.run(evaluate_model_async(host, model, domain, benchmark, items, **kwargs))
