"""``nanoflux pipeline CONFIG``: generate, fine-tune, evaluate, report, in one resumable command.

The pipeline directory::

    run/                 the run directory (nanoflux.engine.run)
    train/               LoRA on run/dataset.jsonl
    baseline_train/      LoRA on the benchmark's training items ([baseline], optional)
    eval/base|tuned|full one evaluation folder per model (nanoflux.evaluation.files),
                         on the same items under the same protocol
    stages/NAME.json     one marker per finished stage, with the key of its inputs
    pipeline.json        stages, comparisons and the compute table
    report.html, report/ the report

A stage whose marker exists with the same input key is skipped; a changed config
(or a changed upstream result) reruns that stage and those after it. The run stage
resumes an interrupted run directory instead of starting again, and each evaluation
an interrupted evaluation folder: the items answered before the kill are not asked
again. Every evaluation goes through :class:`nanoflux.evaluation.Harness`, as
``nanoflux eval`` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from .config import RunConfig, validate_config
from .engine.run_store import RunStore
from .errors import ConfigError, DataFormatError
from .inputs import load_json, load_toml, located
from .machine import utc_now
from .plugins import PluginHost
from .records import Record
from .storage import write_atomic
from .training import TrainOptions, TrainResult


class TrainStage(Record):
    model: str = Field(description="Base model spec, e.g. hf:default.")
    trainer: str = "peft"
    options: TrainOptions = Field(default_factory=TrainOptions)


class EvalStage(Record):
    """How every model of the pipeline is evaluated: as ``nanoflux eval`` does, with the
    same protocol names and defaults.

    ``format``, this table's key before protocols were named, is read as ``protocol``
    (its two values, json and text, are protocols of the same name); giving both is an
    error. A config that named neither was evaluated under json and is now under cot.
    """

    benchmark: str
    limit: int | None = Field(default=None, ge=1)
    protocol: Literal["cot", "cot-fewshot", "json", "text"] = Field(
        default="cot",
        description="How each item is asked and its answer read (nanoflux.evaluation."
        "protocols): cot, zero-shot chain of thought; cot-fewshot, `shots` worked "
        "exemplars; json, the Answer schema; text, the bare question (tuned models).",
    )
    max_tokens: int = Field(default=512, ge=1)
    shots: int = Field(default=5, ge=1, description="Exemplars for cot-fewshot.")
    exemplars: str | None = Field(
        default=None,
        description="DOMAIN:FORMAT:PATH of the training split for cot-fewshot "
        "(default: train.jsonl beside the benchmark file).",
    )
    concurrency: int = Field(default=8, ge=1)
    options: dict[str, Any] = Field(default_factory=dict, description="Backend options.")
    base_model: str | None = Field(
        default=None, description="Spec to evaluate as the base (default: the trainer's base spec)."
    )

    @model_validator(mode="before")
    @classmethod
    def _format_is_protocol(cls, data: Any) -> Any:
        if isinstance(data, dict) and "format" in data:
            if "protocol" in data:
                raise ValueError("give `protocol` only (`format` is its old name)")
            data = {("protocol" if k == "format" else k): v for k, v in data.items()}
        return data


class BaselineStage(Record):
    benchmark: str = Field(description="The benchmark's training split, DOMAIN:FORMAT:PATH.")
    limit: int | None = Field(default=None, ge=1)
    options: dict[str, Any] = Field(
        default_factory=dict, description="TrainOptions fields that differ from [train]."
    )


class PipelineConfig(Record):
    out: Path | None = None
    run: RunConfig
    train: TrainStage
    eval: EvalStage
    baseline: BaselineStage | None = None
    report: bool = True


def load_pipeline_config(path: Path) -> PipelineConfig:
    if not Path(path).exists():
        raise ConfigError(f"pipeline config {path} does not exist")
    data = load_toml(path, error=ConfigError)
    for table in ("run", "train", "eval"):
        if not isinstance(data.get(table), dict):
            raise ConfigError(f"{path}: missing [{table}] table")
    run = validate_config(data["run"], f"{path} [run]")
    if run.out is not None:
        raise ConfigError(
            f"{path}: run.out: the pipeline puts the run in OUT/run",
            hint="set the top-level `out` (or --out) instead",
        )
    train = dict(data["train"])
    train_stage = {k: train.pop(k) for k in ("model", "trainer") if k in train}
    train_stage["options"] = train
    try:
        return PipelineConfig.model_validate(
            {
                **{k: v for k, v in data.items() if k not in ("run", "train")},
                "run": run,
                "train": train_stage,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).replace("train.options.", "train.")
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None


def _key(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        out: Path,
        host: PluginHost,
        *,
        say: Callable[[str], None] = lambda line: None,
    ):
        self.config = config
        self.out = Path(out)
        self.host = host
        self.say = say
        self.markers = self.out / "stages"
        self.ran: list[str] = []
        self.skipped: list[str] = []

    # -- markers ---------------------------------------------------------------------

    def _marker(self, stage: str) -> dict[str, Any] | None:
        """A finished stage's marker; one line naming it when it is damaged."""
        path = self.markers / f"{stage}.json"
        if not path.exists():
            return None
        marker = load_json(path)
        if not isinstance(marker, dict) or not isinstance(marker.get("result"), dict):
            raise DataFormatError(
                f"{path}: not a stage marker (an object with a result)",
                hint=f"delete it to run the {stage} stage again",
            )
        return marker

    def _done(self, stage: str, key: str) -> dict[str, Any] | None:
        marker = self._marker(stage)
        if marker and marker.get("key") == key:
            self.skipped.append(stage)
            self.say(f"{stage}: already done, skipped")
            return marker
        return None

    def _finish(self, stage: str, key: str, result: dict[str, Any]) -> dict[str, Any]:
        self.markers.mkdir(parents=True, exist_ok=True)
        marker = {"stage": stage, "key": key, "finished_at": utc_now(), "result": result}
        write_atomic(self.markers / f"{stage}.json", json.dumps(marker, indent=2) + "\n")
        self.ran.append(stage)
        return marker

    # -- stages ----------------------------------------------------------------------

    def run_stage(self) -> dict[str, Any]:
        from .engine import run

        key = _key(self.config.run.model_dump(mode="json"))
        if marker := self._done("run", key):
            return marker
        run_dir = self.out / "run"
        resume = RunStore(run_dir).is_run()
        self.say(f"run: {'resuming' if resume else 'starting'} {run_dir}")
        result = run(self.config.run.model_copy(update={"out": run_dir}), self.host, resume=resume)
        if result.accepted == 0:
            raise DataFormatError(
                f"run {run_dir} accepted no examples; there is nothing to train on",
                hint="raise [run].target or the budget, or loosen [run.acceptance]",
            )
        return self._finish(
            "run",
            key,
            {
                "out_dir": str(result.out_dir),
                "accepted": result.accepted,
                "attempts": result.attempts,
                "stopped_because": result.stopped_because,
            },
        )

    def _train(
        self,
        stage: str,
        examples_source: Callable[[], list[dict]],
        upstream: str,
        options: TrainOptions,
    ) -> TrainResult:
        train = self.config.train
        key = _key(train.model, train.trainer, options.model_dump(mode="json"), upstream)
        if marker := self._done(stage, key):
            with located(str(self.markers / f"{stage}.json")):
                return TrainResult.model_validate(marker["result"])
        examples = examples_source()
        self.say(f"{stage}: training {train.model} on {len(examples)} examples")
        trainer = self.host.open_trainer(train.trainer)
        result = trainer.train(examples, train.model, self.out / stage, options)
        self._finish(stage, key, result.model_dump(mode="json"))
        return result

    @cached_property
    def harness(self):
        """The benchmark under the [eval] protocol: loaded once, when an evaluation runs."""
        from .evaluation import Harness

        settings = self.config.eval
        return Harness.prepare(
            self.host,
            settings.benchmark,
            limit=settings.limit,
            protocol=settings.protocol,
            max_tokens=settings.max_tokens,
            shots=settings.shots,
            exemplars=settings.exemplars,
            options=settings.options,
            concurrency=settings.concurrency,
            say=self.say,
        )

    def _evaluate(self, stage: str, model: str, upstream: str):
        """One model's evaluation, resumed from its folder after a kill. ``upstream``
        keys the training behind ``model``: a retrained adapter keeps its spec, so a
        folder made for other weights (or another [eval]) is emptied, not reused."""
        from .evaluation import EvalResult, read_eval

        folder = self.out / "eval" / stage.removeprefix("eval_")
        key = _key(model, self.config.eval.model_dump(mode="json"), upstream)
        marker = self._marker(stage)
        if marker and marker.get("key") == key and (found := read_eval(folder)):
            self.skipped.append(stage)
            self.say(f"{stage}: already done, skipped")
            return EvalResult(*found)
        harness = self.harness
        self.say(f"{stage}: {model} on {len(harness.items)} items of {harness.benchmark}")
        result = harness.evaluate(folder, model, model_key=upstream, replace=True)
        for warning in result.summary.validity.warnings if result.summary.validity else []:
            self.say(f"WARNING: {stage} result looks degenerate: {warning}")
        self._finish(stage, key, result.summary.model_dump(mode="json"))
        return result

    def _trainings(self, run_key: str) -> tuple[TrainResult, TrainResult | None]:
        """The LoRA on the run's dataset, and the one on the benchmark's training split."""
        from .domains import load_benchmark
        from .training import benchmark_examples, read_examples

        run_dir = self.out / "run"  # where run_stage puts it, wherever OUT has moved since
        options = self.config.train.options
        tuned = self._train("train", lambda: read_examples(run_dir), run_key, options)
        baseline = self.config.baseline
        if baseline is None:
            return tuned, None

        def benchmark_source() -> list[dict]:
            items = load_benchmark(self.host, baseline.benchmark, baseline.limit)
            return benchmark_examples(items)

        options = TrainOptions.model_validate({**options.model_dump(), **baseline.options})
        upstream = _key(baseline.model_dump(mode="json"))
        return tuned, self._train("baseline_train", benchmark_source, upstream, options)

    def _evaluations(self, tuned: TrainResult, full: TrainResult | None) -> dict[str, Any]:
        """base, tuned (and full) on the same items under the same protocol."""
        models = {"base": (self.config.eval.base_model or tuned.base_spec, "")}
        for name, result in (("tuned", tuned), ("full", full)):
            if result is not None:
                models[name] = (result.tuned_spec, _key(result.model_dump(mode="json")))
        return {
            name: self._evaluate(f"eval_{name}", spec, upstream)
            for name, (spec, upstream) in models.items()
        }

    def execute(self) -> dict[str, Any]:
        from .evaluation import compare

        self.out.mkdir(parents=True, exist_ok=True)
        run_marker = self.run_stage()
        tuned, full = self._trainings(run_marker["key"])
        evals = self._evaluations(tuned, full)
        pairs = [("tuned", "base"), ("full", "base"), ("tuned", "full")]
        comparisons = [
            compare(*evals[a], *evals[b]).model_dump(mode="json") | {"label": f"{a} vs {b}"}
            for a, b in pairs
            if a in evals and b in evals
        ]
        protocol = evals["base"].summary.protocol
        summary = {
            "out": str(self.out),
            "finished_at": utc_now(),
            "stages": {s: ("ran" if s in self.ran else "skipped") for s in self.ran + self.skipped},
            "run": run_marker["result"],
            "protocol": protocol.model_dump(mode="json") if protocol else None,
            "accuracy": {name: s.headline() for name, (s, _) in evals.items()},
            "comparisons": comparisons,
            "compute": compute_table(self.out / "run", tuned, full),
        }
        write_atomic(self.out / "pipeline.json", json.dumps(summary, indent=2) + "\n")
        if self.config.report:
            from .report import build_report

            summary["report"] = str(build_report(self.out))
        return summary


def compute_table(run_dir: Path, tuned: TrainResult, full: TrainResult | None) -> dict[str, Any]:
    """Measured compute of each stage, and the ratio the paper's claim is about."""
    stats = RunStore(run_dir).stats()
    table: dict[str, Any] = {
        "generation": {"tokens": stats.get("total_tokens"), "seconds": stats.get("seconds")},
        "train": _train_compute(tuned),
    }
    if full is not None:
        table["baseline_train"] = _train_compute(full)
        table["flops_ratio_full_over_tuned"] = (
            full.flops_estimate / tuned.flops_estimate if tuned.flops_estimate else None
        )
        table["tokens_ratio_full_over_tuned"] = (
            full.tokens_seen / tuned.tokens_seen if tuned.tokens_seen else None
        )
    return table


def _train_compute(result: TrainResult) -> dict[str, Any]:
    return {
        "examples": result.examples,
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "seconds": result.seconds,
        "flops_estimate": result.flops_estimate,
        "flops_formula": result.extra.get("flops_formula"),
    }
