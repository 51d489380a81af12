"""The one evaluation path: a benchmark asked under one protocol, model after model.

``nanoflux eval``, ``nanoflux pipeline`` and ``nanoflux ablate`` all evaluate through a
:class:`Harness` and compare through :func:`~nanoflux.evaluation.comparing.compare`::

    harness = Harness.prepare(host, "math:gsm8k:dev.jsonl", protocol="cot")
    base = harness.evaluate(out / "base", "hf:default")
    tuned = harness.evaluate(out / "tuned", "hf:default+out/adapter")
    comparison = compare(*tuned, *base)

Every model a harness evaluates answers the same items, asked the same way, so any two
of its results compare. Each evaluation goes item by item into its folder
(:mod:`.files`): killed, it resumes where it stopped when asked again; finished, it is
read back without opening the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..domains import BenchmarkSpec, Domain, load_benchmark
from ..errors import UsageError
from ..records import BenchmarkItem
from .comparing import check_comparable
from .files import EvalFolder, EvalIdentity, read_eval
from .protocols import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_PROTOCOL,
    DEFAULT_SHOTS,
    Protocol,
    resolve_protocol,
)
from .records import ItemResult, ModelEval
from .running import evaluate_model, resumable, summarise


class EvalResult(NamedTuple):
    """One model's evaluation: its summary and its items in benchmark order."""

    summary: ModelEval
    items: list[ItemResult]


@dataclass(frozen=True)
class Harness:
    """A benchmark's items, the protocol that asks them, and how models are opened."""

    host: Any
    domain: Domain
    benchmark: BenchmarkSpec
    items: list[BenchmarkItem]
    protocol: Protocol
    exemplars: list[BenchmarkItem] = field(default_factory=list)
    #: backend options of every model evaluated (``-O KEY=VALUE``)
    options: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 8
    #: where progress lines go ("resuming, 4 of 12 items already answered")
    say: Callable[[str], None] = field(default=lambda line: None, repr=False)

    @classmethod
    def prepare(
        cls,
        host,
        benchmark: str | BenchmarkSpec,
        *,
        limit: int | None = None,
        protocol: str = DEFAULT_PROTOCOL,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        shots: int = DEFAULT_SHOTS,
        exemplars: str | None = None,
        **settings: Any,
    ) -> Harness:
        """Load the benchmark (its first ``limit`` items) and name the protocol;
        ``settings`` are the other fields (options, concurrency, say)."""
        spec = benchmark if isinstance(benchmark, BenchmarkSpec) else BenchmarkSpec.parse(benchmark)
        items = load_benchmark(host, spec, limit)
        chosen, exemplar_items = resolve_protocol(
            host, spec, items, protocol, max_tokens=max_tokens, shots=shots, exemplars=exemplars
        )
        return cls(
            host=host,
            domain=host.domain(spec.domain),
            benchmark=spec,
            items=items,
            protocol=chosen,
            exemplars=exemplar_items,
            **settings,
        )

    def evaluate(
        self,
        folder: Path,
        model: str,
        *,
        model_key: str = "",
        replace: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> EvalResult:
        """``model`` on every item, each written to ``folder`` as it is answered.

        The same call again resumes a killed evaluation (asking only what is left) or
        reads a finished one back. A folder that holds another evaluation is refused,
        or emptied with ``replace``. ``model_key`` says which weights ``model`` stands
        for when its spec does not (see :class:`EvalIdentity`)."""
        store = EvalFolder(folder)
        answered = store.open(self._identity(model, model_key), replace=replace)
        try:
            standing = sum(resumable(result) for result in answered.values())
            if store.finished is not None and standing == len(self.items):
                return EvalResult(*store.finished)  # nothing to ask: it stands as written
            if standing:
                self.say(
                    f"{folder}: resuming, {standing} of {len(self.items)} items already answered"
                )
            summary, results = evaluate_model(
                self.host,
                model,
                self.domain,
                str(self.benchmark),
                self.items,
                protocol=self.protocol,
                exemplars=self.exemplars,
                options=self.options,
                concurrency=self.concurrency,
                answered=answered,
                on_item=store.record,
                progress=progress,
            )
            store.finish(summary, results)
        finally:
            store.close()
        return EvalResult(summary, results)

    def _identity(self, model: str, model_key: str) -> EvalIdentity:
        return EvalIdentity(
            model=model,
            model_key=model_key,
            benchmark=str(self.benchmark),
            protocol=self.protocol,
            options=self.options,
            item_ids=[item.id for item in self.items],
        )

    def earlier(self, folder: Path, *, what: str = "--baseline") -> EvalResult:
        """A finished evaluation in ``folder`` to compare against, checked before any item
        is asked: the same benchmark and protocol, and these items (a longer evaluation
        of the benchmark serves for its first ones)."""
        found = read_eval(Path(folder))
        if found is None:
            raise UsageError(f"{what} {folder}: no summary.json and items.jsonl there")
        summary, results = found
        check_comparable(self.summarise(summary.model, []), summary)
        results = results[: len(self.items)]
        if [r.id for r in results] != [item.id for item in self.items]:
            raise UsageError(
                f"{what} {folder} answered other items",
                hint="use the benchmark of that evaluation and a --limit up to its item count",
            )
        if len(results) < summary.n:
            summary = self.summarise(summary.model, results, seconds=0.0)
        return EvalResult(summary, results)

    def summarise(self, model: str, results: list[ItemResult], seconds: float = 0.0) -> ModelEval:
        return summarise(model, str(self.benchmark), results, seconds, self.protocol)
