"""``nanoflux pipeline CONFIG``: generate, fine-tune, evaluate, report, in one resumable command.

The pipeline directory::

    run/                 the run directory (nanoflux.engine.run)
    train/               LoRA on run/dataset.jsonl
    baseline_train/      LoRA on the benchmark's training items ([baseline], optional)
    eval/base|tuned|full summary.json + items.jsonl per model, on the same items
    stages/NAME.json     one marker per finished stage, with the key of its inputs
    pipeline.json        stages, comparisons and the compute table
    report.html, report/ the report

A stage whose marker exists with the same input key is skipped; a changed config
(or a changed upstream result) reruns that stage and those after it. The run stage
resumes an interrupted run directory instead of starting again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from .config import RunConfig, validate_config
from .engine.run_store import RunStore
from .errors import ConfigError, DataFormatError
from .inputs import load_json, load_toml, located
from .machine import utc_now
from .plugins import PluginHost
from .records import Record
from .training import TrainOptions, TrainResult


class TrainStage(Record):
    model: str = Field(description="Base model spec, e.g. hf:default.")
    trainer: str = "peft"
    options: TrainOptions = Field(default_factory=TrainOptions)


class EvalStage(Record):
    benchmark: str
    limit: int | None = Field(default=None, ge=1)
    max_tokens: int = Field(default=512, ge=1)
    concurrency: int = Field(default=8, ge=1)
    format: Literal["json", "text"] = Field(
        default="json",
        description="json: defender prompt + Answer schema; text: bare question, "
        "'Final answer:' line (see nanoflux.evaluation).",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Backend options.")
    base_model: str | None = Field(
        default=None, description="Spec to evaluate as the base (default: the trainer's base spec)."
    )


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
        (self.markers / f"{stage}.json").write_text(json.dumps(marker, indent=2) + "\n", "utf-8")
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

    def _evaluate(self, stage: str, model: str, upstream: str):
        from .evaluation import evaluate_model, load_benchmark, read_eval, write_eval

        settings = self.config.eval
        folder = self.out / "eval" / stage.removeprefix("eval_")
        key = _key(model, settings.model_dump(mode="json"), upstream)
        marker = self._marker(stage)
        if marker and marker.get("key") == key and (found := read_eval(folder)):
            self.skipped.append(stage)
            self.say(f"{stage}: already done, skipped")
            return found
        domain, spec, items = load_benchmark(self.host, settings.benchmark, settings.limit)
        self.say(f"{stage}: {model} on {len(items)} items of {spec}")
        summary, results = evaluate_model(
            self.host,
            model,
            domain,
            str(spec),
            items,
            options=settings.options,
            max_tokens=settings.max_tokens,
            concurrency=settings.concurrency,
            answer_format=settings.format,
        )
        write_eval(folder, summary, results)
        self._finish(stage, key, summary.model_dump(mode="json"))
        return summary, results

    def execute(self) -> dict[str, Any]:
        from .evaluation import compare, load_benchmark
        from .training import benchmark_examples, read_examples

        self.out.mkdir(parents=True, exist_ok=True)
        run_marker = self.run_stage()
        run_dir = self.out / "run"  # where run_stage puts it, wherever OUT has moved since
        tuned = self._train(
            "train", lambda: read_examples(run_dir), run_marker["key"], self.config.train.options
        )
        full = None
        baseline = self.config.baseline
        if baseline is not None:
            options = TrainOptions.model_validate(
                {**self.config.train.options.model_dump(), **baseline.options}
            )

            def benchmark_source() -> list[dict]:
                _, _, items = load_benchmark(self.host, baseline.benchmark, baseline.limit)
                return benchmark_examples(items)

            full = self._train(
                "baseline_train", benchmark_source, _key(baseline.model_dump(mode="json")), options
            )

        base_spec = self.config.eval.base_model or tuned.base_spec
        evals = {
            "base": self._evaluate("eval_base", base_spec, ""),
            "tuned": self._evaluate(
                "eval_tuned", tuned.tuned_spec, _key(tuned.model_dump(mode="json"))
            ),
        }
        if full is not None:
            evals["full"] = self._evaluate(
                "eval_full", full.tuned_spec, _key(full.model_dump(mode="json"))
            )
        pairs = [("tuned", "base"), ("full", "base"), ("tuned", "full")]
        comparisons = [
            compare(*evals[a], *evals[b]).model_dump(mode="json") | {"label": f"{a} vs {b}"}
            for a, b in pairs
            if a in evals and b in evals
        ]
        summary = {
            "out": str(self.out),
            "finished_at": utc_now(),
            "stages": {s: ("ran" if s in self.ran else "skipped") for s in self.ran + self.skipped},
            "run": run_marker["result"],
            "accuracy": {
                name: {"model": s.model, "n": s.n, "accuracy": s.accuracy, "ci95": list(s.ci95)}
                for name, (s, _) in evals.items()
            },
            "comparisons": comparisons,
            "compute": compute_table(run_dir, tuned, full),
        }
        (self.out / "pipeline.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
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
