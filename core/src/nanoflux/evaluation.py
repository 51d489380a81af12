"""Benchmark evaluation: accuracy with a confidence interval, and paired significance.

A model answers every benchmark item through its backend, prompted with the domain's
defender template and asked for an :class:`~nanoflux.records.Answer` (format ``json``,
the default), or asked the bare question, the way fine-tuning examples ask it, with the
answer read from the reply's last ``Final answer: X`` (or GSM8K ``#### X``) line (format
``text``, for models tuned on NanoFlux datasets that have not learned to follow a JSON
instruction); the domain's checker decides correctness. A reply that fails or cannot be
read counts as wrong and keeps its cause. Two models evaluated on the same items are
compared pairwise: the exact McNemar test on the discordant items, and a paired
bootstrap of the accuracy difference.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from .backends import CompletionRequest
from .domains import BenchmarkSpec, Domain, choices_text
from .domains import load_benchmark as read_benchmark
from .errors import BackendError, ConfigError, DataFormatError
from .records import Answer, BenchmarkItem, ChatMessage, Record

Z95 = 1.959963984540054  # two-sided 95 % normal quantile
DEFAULT_MAX_TOKENS = 512
ANSWER_FORMATS = ("json", "text")
# The closing line of every NanoFlux training example ("Final answer: X", written by the
# engine and by benchmark_examples), or GSM8K's own "#### X", which base models that saw
# GSM8K in pre-training write instead.
FINAL_ANSWER = re.compile(r"(?:final answer\s*[:：]|^\s*####)\s*(.+)", re.IGNORECASE | re.MULTILINE)
BOOTSTRAP_RESAMPLES = 10_000


# -- statistics -----------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (no continuity correction)."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} is outside 0..{n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    Under the null each discordant pair is a fair coin: p = 2 * P(X <= min(b, c)),
    X ~ Binomial(b + c, 1/2), capped at 1. Integer arithmetic keeps it exact.
    """
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap(
    model: Sequence[bool],
    baseline: Sequence[bool],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[tuple[float, float], float]:
    """95 % percentile interval of accuracy(model) - accuracy(baseline), and a two-sided
    p-value: how often the resampled difference, centred on the observed one, is at
    least as far from zero as the observed difference (Berg-Kirkpatrick et al., 2012)."""
    import numpy as np

    if len(model) != len(baseline):
        raise ValueError("paired samples must have the same length")
    n = len(model)
    if n == 0:
        return (0.0, 0.0), 1.0
    diff = np.asarray(model, dtype=float) - np.asarray(baseline, dtype=float)
    observed = diff.mean()
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    if observed == 0:
        p_value = 1.0
    else:
        p_value = float(np.mean(np.abs(means - observed) >= abs(observed) - 1e-12))
    return (float(low), float(high)), p_value


# -- records ----------------------------------------------------------------------------


class ItemResult(Record):
    """One benchmark item answered by one model."""

    id: str
    reference: str
    prediction: str | None = None
    correct: bool = False
    cause: str | None = Field(
        default=None,
        description="Why there is no usable answer: backend_error, timeout, "
        "malformed_output, checker_error ... (None when the model answered).",
    )
    error: str | None = None
    reasoning: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class ModelEval(Record):
    model: str
    benchmark: str
    answer_format: str = "json"
    n: int
    correct: int
    accuracy: float
    ci95: tuple[float, float]
    failures: dict[str, int] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class Comparison(Record):
    """``model`` against ``baseline`` on the same items."""

    model: str
    baseline: str
    n: int
    accuracy: float
    baseline_accuracy: float
    delta: float
    delta_ci95: tuple[float, float] = Field(description="Paired bootstrap percentile interval.")
    model_only: int = Field(description="Items only the model got right (discordant).")
    baseline_only: int = Field(description="Items only the baseline got right (discordant).")
    p_value: float = Field(description="Exact McNemar, two-sided.")
    p_value_bootstrap: float


# -- benchmark items ----------------------------------------------------------------------


def load_benchmark(host, spec: str | BenchmarkSpec, limit: int | None = None):
    """(domain, parsed spec, items): the first ``limit`` items of a DOMAIN:FORMAT:PATH file."""
    parsed = spec if isinstance(spec, BenchmarkSpec) else BenchmarkSpec.parse(spec)
    items = read_benchmark(host, parsed)[:limit]
    if not items:
        raise DataFormatError(f"benchmark {parsed}: no items")
    return host.domain(parsed.domain), parsed, items


def item_question(item: BenchmarkItem) -> str:
    """The user turn a trained model sees for an item (dataset examples use the same shape)."""
    text = item.question.strip()
    if item.choices:
        text += "\n\n" + choices_text(item.choices)
    return text


# -- running ------------------------------------------------------------------------------


def final_answer_of(text: str) -> str | None:
    """The answer on the last ``Final answer:`` (or ``####``) line of a reply, or None."""
    found = FINAL_ANSWER.findall(text)
    if not found:
        return None
    answer = found[-1].strip().rstrip(".").strip()
    return answer or None


async def answer_item(
    backend,
    domain: Domain,
    item: BenchmarkItem,
    *,
    max_tokens: int,
    seed: int,
    answer_format: str = "json",
) -> ItemResult:
    if answer_format == "text":
        prompt, schema = item_question(item), None
    else:
        prompt = domain.prompts().render(
            "defender", question=item.question, choices=choices_text(item.choices)
        )
        schema = Answer.model_json_schema()
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content=prompt)],
        json_schema=schema,
        max_tokens=max_tokens,
        temperature=0.0,
        seed=seed,
    )
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
    result.seconds = completion.seconds or time.perf_counter() - started
    if answer_format == "text":
        final = final_answer_of(completion.text)
        result.reasoning = completion.text
        if final is None:
            result.cause = "malformed_output"
            result.error = f"no 'Final answer:' line in reply: {completion.text[-120:]!r}"
            return result
        return _check(domain, item, final, result)
    if completion.data is None:
        result.cause = "malformed_output"
        result.error = f"no JSON object in reply: {completion.text[:120]!r}"
        return result
    try:
        answer = Answer.model_validate(completion.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        result.cause = "malformed_output"
        result.error = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return result
    result.reasoning = answer.reasoning
    return _check(domain, item, answer.final_answer, result)


def _check(domain: Domain, item: BenchmarkItem, answer: str, result: ItemResult) -> ItemResult:
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
    answer_format: str = "json",
) -> ModelEval:
    correct = sum(r.correct for r in results)
    n = len(results)
    return ModelEval(
        model=model,
        benchmark=benchmark,
        answer_format=answer_format,
        n=n,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        ci95=wilson_interval(correct, n),
        failures=dict(Counter(r.cause for r in results if r.cause)),
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
    options: dict[str, Any] | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    concurrency: int = 8,
    seed: int = 0,
    answer_format: str = "json",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ModelEval, list[ItemResult]]:
    if answer_format not in ANSWER_FORMATS:
        raise ConfigError(
            f"answer format {answer_format!r}", hint=f"use one of {', '.join(ANSWER_FORMATS)}"
        )
    started = time.perf_counter()
    backend = host.open_backend(model, options)
    limit = asyncio.Semaphore(max(1, min(concurrency, backend.max_concurrency)))
    done = 0

    async def one(index: int, item: BenchmarkItem) -> ItemResult:
        nonlocal done
        async with limit:
            result = await answer_item(
                backend,
                domain,
                item,
                max_tokens=max_tokens,
                seed=seed + index,
                answer_format=answer_format,
            )
        done += 1
        if progress:
            progress(done, len(items))
        return result

    try:
        results = await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    finally:
        await backend.aclose()
    seconds = time.perf_counter() - started
    return summarise(model, benchmark, list(results), seconds, answer_format), list(results)


def evaluate_model(host, model: str, domain: Domain, benchmark: str, items, **kwargs):
    return asyncio.run(evaluate_model_async(host, model, domain, benchmark, items, **kwargs))


def compare(
    model: ModelEval,
    model_items: list[ItemResult],
    baseline: ModelEval,
    baseline_items: list[ItemResult],
    *,
    seed: int = 0,
) -> Comparison:
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


# -- files --------------------------------------------------------------------------------

SUMMARY_FILE = "summary.json"
ITEMS_FILE = "items.jsonl"


def write_eval(folder: Path, summary: ModelEval, items: list[ItemResult]) -> None:
    """``summary.json`` and ``items.jsonl`` (one ItemResult per line) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ITEMS_FILE).open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(item.model_dump_json() + "\n")
    (folder / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2) + "\n", "utf-8")


def read_eval(folder: Path) -> tuple[ModelEval, list[ItemResult]] | None:
    """A finished evaluation in ``folder``, or None when there is none."""
    summary_path, items_path = folder / SUMMARY_FILE, folder / ITEMS_FILE
    if not (summary_path.is_file() and items_path.is_file()):
        return None
    summary = ModelEval.model_validate_json(summary_path.read_text("utf-8"))
    items = [
        ItemResult.model_validate_json(line)
        for line in items_path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    return summary, items


def report_json(summary: ModelEval, comparison: Comparison | None = None) -> dict[str, Any]:
    """The object ``nanoflux eval --json`` prints."""
    data: dict[str, Any] = {
        "model": summary.model,
        "benchmark": summary.benchmark,
        "n": summary.n,
        "correct": summary.correct,
        "accuracy": summary.accuracy,
        "ci95": list(summary.ci95),
        "failures": summary.failures,
        "answer_format": summary.answer_format,
    }
    if comparison is not None:
        data.update(
            baseline=comparison.baseline,
            baseline_accuracy=comparison.baseline_accuracy,
            delta=comparison.delta,
            delta_ci95=list(comparison.delta_ci95),
            p_value=comparison.p_value,
            p_value_bootstrap=comparison.p_value_bootstrap,
            model_only=comparison.model_only,
            baseline_only=comparison.baseline_only,
            test="exact McNemar (two-sided); paired bootstrap for the interval",
        )
    return json.loads(json.dumps(data))
