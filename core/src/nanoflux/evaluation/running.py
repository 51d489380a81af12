"""Running an evaluation: each item asked under a protocol, answered, read and checked.

A reply that fails or cannot be read counts as wrong and keeps its cause. Items are in
flight together as far as the backend allows (``backend.max_concurrency``); each keeps
its own seconds and tokens.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..answers import copied_from_prompt
from ..domains import BenchmarkSpec, Domain
from ..domains import load_benchmark as read_benchmark
from ..errors import BackendError, ConfigError, DataFormatError
from ..records import Answer, BenchmarkItem
from ..secrets import mask_urls
from .extraction import extract_answer, looks_numeric, numeric_answer, text_answer
from .files import EvalFolder, EvalIdentity
from .protocols import Protocol, build_request, make_protocol
from .records import Comparison, ItemResult, ModelEval
from .statistics import mcnemar_exact, paired_bootstrap, wilson_interval
from .validity import validity


def load_benchmark(host, spec: str | BenchmarkSpec, limit: int | None = None):
    """(domain, parsed spec, items): the first ``limit`` items of a DOMAIN:FORMAT:PATH file."""
    parsed = spec if isinstance(spec, BenchmarkSpec) else BenchmarkSpec.parse(spec)
    items = read_benchmark(host, parsed)[:limit]
    if not items:
        raise DataFormatError(f"benchmark {parsed}: no items")
    return host.domain(parsed.domain), parsed, items


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
    shown = "\n".join(message.content for message in request.messages)
    question = request.messages[-1].content if protocol.name == "text" else item.question
    result.copied_prompt = copied_from_prompt(answer, shown, question=question)
    result.extraction = method
    result.prediction = answer
    try:
        result.correct = bool(domain.check_answer(item.answer, answer, choices=item.choices))
    except Exception as exc:  # a checker bug marks the item, not the run
        result.cause, result.error = "checker_error", f"{type(exc).__name__}: {exc}"
    return result


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

    Items in ``answered`` (by id) are taken as they are and not asked again; ``on_item``
    sees each newly answered item as soon as it is checked. The summary's seconds are
    this call's wall time plus the answered items' own seconds."""
    if protocol is None:
        protocol = make_protocol(answer_format or "json", max_tokens=max_tokens or 512)
    if protocol.name == "cot-fewshot" and len(exemplars or []) < protocol.shots:
        raise ConfigError(f"protocol cot-fewshot needs {protocol.shots} exemplars")
    answered = answered or {}
    started = time.perf_counter()
    results: list[ItemResult | None] = [answered.get(item.id) for item in items]
    todo = [(i, item) for i, item in enumerate(items) if results[i] is None]
    done = len(items) - len(todo)
    if todo:  # a finished evaluation read back opens no model
        backend = host.open_backend(model, options)
        limit = asyncio.Semaphore(max(1, min(concurrency, backend.max_concurrency)))

        async def one(index: int, item: BenchmarkItem) -> None:
            nonlocal done
            async with limit:
                result = await answer_item(
                    backend, domain, item, protocol, exemplars=exemplars, seed=seed + index
                )
            results[index] = result
            done += 1
            if on_item:
                on_item(result)
            if progress:
                progress(done, len(items))

        try:
            await asyncio.gather(*(one(i, item) for i, item in todo))
        finally:
            await backend.aclose()
    finished = [r for r in results if r is not None]
    seconds = time.perf_counter() - started + sum(r.seconds for r in answered.values())
    return summarise(model, benchmark, finished, seconds, protocol), finished


def evaluate_model(host, model: str, domain: Domain, benchmark: str, items, **kwargs):
    return asyncio.run(evaluate_model_async(host, model, domain, benchmark, items, **kwargs))


def run_evaluation(
    host,
    folder: Path,
    model: str,
    domain: Domain,
    benchmark: str,
    items: list[BenchmarkItem],
    *,
    protocol: Protocol,
    options: dict[str, Any] | None = None,
    say: Callable[[str], None] = lambda line: None,
    **kwargs: Any,
) -> tuple[ModelEval, list[ItemResult]]:
    """Evaluate into ``folder`` (see :mod:`.files`): each item on disk as it is answered,
    a killed evaluation resumed by running it again, a finished one read back."""
    store = EvalFolder(folder)
    answered = store.open(
        EvalIdentity(
            model=model,
            benchmark=benchmark,
            protocol=protocol,
            options=options or {},
            item_ids=[item.id for item in items],
        )
    )
    # an item the backend failed (timeout, refused connection) was never answered: ask again
    answered = {
        key: result
        for key, result in answered.items()
        if result.prediction is not None or result.cause == "malformed_output"
    }
    if store.finished is not None and len(answered) == len(items):
        store.close()  # nothing to ask: the result stands as it was written
        return store.finished
    try:
        if 0 < len(answered) < len(items):
            say(f"{folder}: resuming, {len(answered)} of {len(items)} items already answered")
        summary, results = evaluate_model(
            host,
            model,
            domain,
            benchmark,
            items,
            protocol=protocol,
            options=options,
            answered=answered,
            on_item=store.record,
            **kwargs,
        )
        store.finish(summary, results)
    finally:
        store.close()
    return summary, results


class ProtocolMismatch(ConfigError):
    """Two results measured differently: their numbers are not comparable."""


def check_comparable(model: ModelEval, baseline: ModelEval) -> None:
    if model.benchmark != baseline.benchmark:
        raise ProtocolMismatch(
            f"the baseline was evaluated on {baseline.benchmark}, the model on {model.benchmark}"
        )
    if model.protocol is None or baseline.protocol is None:
        if model.answer_format != baseline.answer_format:
            raise ProtocolMismatch(
                f"protocols differ: {model.answer_format} vs {baseline.answer_format}"
            )
        return
    differences = model.protocol.differences(baseline.protocol)
    if differences:
        raise ProtocolMismatch(
            f"protocols differ ({'; '.join(differences)}): "
            f"model {model.protocol.label()}, baseline {baseline.protocol.label()}",
            hint="evaluate both under the same --protocol, --shots and --max-tokens",
        )


def compare(
    model: ModelEval,
    model_items: list[ItemResult],
    baseline: ModelEval,
    baseline_items: list[ItemResult],
    *,
    seed: int = 0,
) -> Comparison:
    check_comparable(model, baseline)
    if [r.id for r in model_items] != [r.id for r in baseline_items]:
        raise ConfigError("the two evaluations did not answer the same items in the same order")
    ours = [r.correct for r in model_items]
    theirs = [r.correct for r in baseline_items]
    model_only = sum(a and not b for a, b in zip(ours, theirs, strict=True))
    baseline_only = sum(b and not a for a, b in zip(ours, theirs, strict=True))
    interval, p_boot = paired_bootstrap(ours, theirs, seed=seed)
    return Comparison(
        model=model.model,
        baseline=baseline.model,
        n=len(ours),
        accuracy=model.accuracy,
        baseline_accuracy=baseline.accuracy,
        delta=model.accuracy - baseline.accuracy,
        delta_ci95=interval,
        model_only=model_only,
        baseline_only=baseline_only,
        p_value=mcnemar_exact(baseline_only, model_only),
        p_value_bootstrap=p_boot,
    )
