"""``nanoflux pipeline CONFIG``: generate, fine-tune, evaluate, report, in one resumable command.

The pipeline directory::

    run/                 the run directory (nanoflux.engine.run): nanoflux-N's examples
    train/               LoRA on run/dataset.jsonl (nanoflux-N)
    control_train/       LoRA on as many random training items ([control], random-N)
    baseline_train/      LoRA on the benchmark's training items ([baseline], full)
    eval/base|tuned|random|full
                         one evaluation folder per model (nanoflux.evaluation.files),
                         on the same items under the same protocol
    stages/NAME.json     one marker per finished stage, with the key of its inputs and
                         the code that finished it (nanoflux.machine.source_revision)
    pipeline.json        models, comparisons and the compute table
    results.md           the same as tables (nanoflux.report.results)
    report.html, report/ the report

A stage whose marker exists with the same input key is skipped; a changed config
(or a changed upstream result) reruns that stage and those after it. The run stage
resumes an interrupted run directory instead of starting again, and each evaluation
an interrupted evaluation folder: the items answered before the kill are not asked
again; a training killed midway goes on from its last checkpoint where the trainer
writes them (peft: every 10 minutes), else starts again. Every evaluation goes through
:class:`nanoflux.evaluation.Harness`, as ``nanoflux eval`` does.

``only`` (``--stage NAME``) runs the named stages alone, each skipped or resumed as
above: a stage they need that has not finished is named in one line, not run. The base's
evaluation (with [eval] serve or base_model) and the full training with its evaluation
need no generated data, so they can run before the generation, or elsewhere.

Benchmark paths may name a folder of the ``[data]`` table as ``{NAME}``; the variable
``NANOFLUX_DATA_NAME`` (the name in capitals) overrides the folder the file gives.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Collection
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from .config import RunConfig, validate_config
from .engine.run_store import RunStore
from .errors import ConfigError, DataFormatError, UsageError
from .inputs import load_json, load_toml, located
from .machine import source_revision, utc_now
from .plugins import PluginHost
from .records import Record
from .storage import write_atomic
from .training import TrainOptions, TrainResult, train_in


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
    serve: str | None = Field(
        default=None,
        description="Evaluate through another backend, on the weights [train] trains: the "
        "base as SERVE, each tuned model as SERVE+ADAPTER (default: the trainer's specs). "
        "llamacpp-server:qwen2.5-coder-0.5b serves the GGUF that hf:qwen2.5-coder-0.5b "
        "trains on, adapters included, several times as fast as transformers on a CPU.",
    )
    base_model: str | None = Field(
        default=None,
        description="Spec to evaluate as the base (default: SERVE, or the trainer's base spec).",
    )
    protect: bool = Field(
        default=True,
        description="Before the run, store the benchmark's questions as protected items in "
        "the run's novelty store, so that no generated example is a look-alike of an item "
        "it is evaluated on (`contaminated`). Needs [run.novelty] enabled.",
    )

    @model_validator(mode="before")
    @classmethod
    def _format_is_protocol(cls, data: Any) -> Any:
        if isinstance(data, dict) and "format" in data:
            if "protocol" in data:
                raise ValueError("give `protocol` only (`format` is its old name)")
            data = {("protocol" if k == "format" else k): v for k, v in data.items()}
        return data


class TrainingSplit(Record):
    """A benchmark's training split, whose items are trained on as chat examples: the
    question asked, the worked solution given (:func:`nanoflux.training.benchmark_examples`)."""

    benchmark: str = Field(description="The benchmark's training split, DOMAIN:FORMAT:PATH.")
    seed: int = Field(default=0, description="Seed of the random draw of items.")


class ControlStage(TrainingSplit):
    """random-N, the control: as many items of the split as nanoflux-N trained on, drawn
    at random, trained with [train]'s options unchanged (the same epochs, max_length and
    hyper-parameters). It tells "adversarial and verified" from "any N examples"."""


class BaselineStage(TrainingSplit):
    """full: LoRA on the whole training split, or on a stated part of it."""

    limit: int | None = Field(default=None, ge=1, description="Read the first LIMIT items only.")
    sample: int | None = Field(
        default=None,
        ge=1,
        description="Train on SAMPLE items drawn at random (seed) from the split: a stated "
        "subsample, where training on the whole split takes longer than the machine allows.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="TrainOptions fields that differ from [train]."
    )

    def key(self) -> str:
        """The key of what full trains on: keys made before `seed` and `sample` existed
        stand while both keep their defaults, so a finished training is not redone."""
        data = self.model_dump(mode="json")
        for added, default in (("seed", 0), ("sample", None)):
            if data[added] == default:
                del data[added]
        return _key(data)


class PipelineConfig(Record):
    out: Path | None = None
    data: dict[str, str] = Field(
        default_factory=dict,
        description="Named data folders, written {NAME} in benchmark paths; the variable "
        "NANOFLUX_DATA_NAME overrides one.",
    )
    run: RunConfig
    train: TrainStage
    eval: EvalStage
    control: ControlStage | None = None
    baseline: BaselineStage | None = None
    report: bool = True


DATA_VARIABLE = "NANOFLUX_DATA_"
_FOLDER_NAME = re.compile(r"\{([^{}]*)\}")
# where a benchmark path may name a [data] folder
_DATA_FIELDS = (("eval", "benchmark"), ("eval", "exemplars"))
_DATA_FIELDS += (("control", "benchmark"), ("baseline", "benchmark"))


def data_folders(table: Any, path: Path) -> dict[str, str]:
    """The [data] table, each folder overridden by its NANOFLUX_DATA_NAME variable."""
    if not isinstance(table, dict):
        raise ConfigError(f'{path}: [data] must be a table of NAME = "folder"')
    folders = {}
    for name, folder in table.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not isinstance(folder, str):
            raise ConfigError(
                f'{path}: data.{name}: expected NAME = "folder" (NAME: letters, digits, _)'
            )
        folders[name] = os.environ.get(DATA_VARIABLE + name.upper()) or folder
    return folders


def fill_data_folders(data: dict[str, Any], folders: dict[str, str], path: Path) -> None:
    """Replace each ``{NAME}`` in the benchmark paths of ``data`` by its [data] folder."""

    def folder(match: re.Match, where: str) -> str:
        name = match.group(1)
        if name not in folders:
            known = ", ".join(folders) or "none"
            raise ConfigError(
                f"{path}: {where}: {{{name}}} names no [data] folder (known: {known})",
                hint=f'add {name} = "FOLDER" to [data]',
            )
        return folders[name].rstrip("/")

    for table, key in _DATA_FIELDS:
        section = data.get(table)
        if isinstance(section, dict) and isinstance(section.get(key), str):
            where = f"{table}.{key}"
            section[key] = _FOLDER_NAME.sub(lambda m, w=where: folder(m, w), section[key])


def load_pipeline_config(path: Path) -> PipelineConfig:
    if not Path(path).exists():
        raise ConfigError(f"pipeline config {path} does not exist")
    data = load_toml(path, error=ConfigError)
    for table in ("run", "train", "eval"):
        if not isinstance(data.get(table), dict):
            raise ConfigError(f"{path}: missing [{table}] table")
    folders = data_folders(data.get("data", {}), path)
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    fill_data_folders(data, folders, path)
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
                **{k: v for k, v in data.items() if k not in ("run", "train", "data")},
                "data": folders,
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
        only: Collection[str] | None = None,
    ):
        self.config = config
        self.out = Path(out)
        self.host = host
        self.say = say
        self.markers = self.out / "stages"
        self.ran: list[str] = []
        self.skipped: list[str] = []
        self.only = None if only is None else self._stages_named(only)
        self._asked: str | None = None  # the --stage being run, for what it needs

    def configured(self) -> list[str]:
        """The stages this config has, in the order a whole pipeline runs them."""
        tables = {"random": self.config.control, "full": self.config.baseline}
        absent = {model for model, table in tables.items() if table is None}
        model = lambda stage: STAGE_MODELS.get(stage, stage.removeprefix("eval_"))  # noqa: E731
        return [stage for stage in STAGE_NAMES if model(stage) not in absent]

    def _stages_named(self, names: Collection[str]) -> set[str]:
        stages = self.configured()
        for name in names:
            if name not in stages:
                absent = name in STAGE_NAMES
                raise UsageError(
                    f"stage {name!r}: "
                    + ("this config does not have it" if absent else "no stage of that name"),
                    hint=f"the stages of this config: {', '.join(stages)}",
                )
        return set(names)

    def _may_run(self, stage: str) -> None:
        """With ``only``, a stage outside it is not started: the asked one needs it."""
        if self.only is None or stage in self.only:
            return
        raise UsageError(
            f"stage {self._asked} needs {stage}, which has not finished",
            hint=f"finish {stage} first (--stage {stage}), or run the pipeline without --stage",
        )

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
        marker["source"] = source_revision()  # the code that finished it
        write_atomic(self.markers / f"{stage}.json", json.dumps(marker, indent=2) + "\n")
        self.ran.append(stage)
        return marker

    # -- stages ----------------------------------------------------------------------

    def run_stage(self) -> dict[str, Any]:
        from .engine import run

        key = _key(self.config.run.model_dump(mode="json"))
        if marker := self._done("run", key):
            return marker
        self._may_run("run")
        run_dir = self.out / "run"
        resume = RunStore(run_dir).is_run()
        self._protect()
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

    def _protect(self) -> None:
        """[eval]'s benchmark as protected items of the run's novelty store (again at each
        resume: protecting is idempotent, and cheap beside a round)."""
        novelty, settings = self.config.run.novelty, self.config.eval
        if not (settings.protect and novelty.enabled):
            return
        from .engine.gate import OpenGate, benchmark_questions

        spec, items = benchmark_questions(self.host, settings.benchmark)
        with OpenGate(self.host, novelty, self.config.run.domain) as opened:
            count = opened.protect(spec, items)
        self.say(f"run: the {count} items of {settings.benchmark} are protected")

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
        self._may_run(stage)
        examples = examples_source()
        self.say(f"{stage}: training {train.model} on {len(examples)} examples")
        trainer = self.host.open_trainer(train.trainer)
        result = train_in(trainer, examples, train.model, self.out / stage, options)
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
        # `protect` is about the run, not how a model is evaluated
        settings = self.config.eval.model_dump(mode="json", exclude={"protect"})
        key = _key(model, settings, upstream)
        marker = self._marker(stage)
        if marker and marker.get("key") == key and (found := read_eval(folder)):
            self.skipped.append(stage)
            self.say(f"{stage}: already done, skipped")
            return EvalResult(*found)
        self._may_run(stage)
        harness = self.harness
        self.say(f"{stage}: {model} on {len(harness.items)} items of {harness.benchmark}")
        result = harness.evaluate(folder, model, model_key=upstream, replace=True)
        for warning in result.summary.validity.warnings if result.summary.validity else []:
            self.say(f"WARNING: {stage} result looks degenerate: {warning}")
        self._finish(stage, key, result.summary.model_dump(mode="json"))
        return result

    @cached_property
    def run_marker(self) -> dict[str, Any]:
        return self.run_stage()

    @cached_property
    def tuned(self) -> TrainResult:
        """nanoflux-N, on the run's dataset."""
        from .training import read_examples

        run_dir = self.out / "run"  # where run_stage puts it, wherever OUT has moved since
        source = lambda: read_examples(run_dir)  # noqa: E731
        return self._train("train", source, self.run_marker["key"], self.config.train.options)

    @cached_property
    def random(self) -> TrainResult | None:
        """random-N ([control]): the same N as nanoflux-N and [train]'s options unchanged;
        only the items differ."""
        control = self.config.control
        if control is None:
            return None
        n = self.tuned.examples
        upstream = _key(control.model_dump(mode="json"), n)
        source = self._split_source("control_train", control, n)
        return self._train("control_train", source, upstream, self.config.train.options)

    @cached_property
    def full(self) -> TrainResult | None:
        """full ([baseline]): the benchmark's training split, or a stated part of it."""
        baseline = self.config.baseline
        if baseline is None:
            return None
        options = self.config.train.options.model_dump()
        options = TrainOptions.model_validate({**options, **baseline.options})
        source = self._split_source("baseline_train", baseline, baseline.sample, baseline.limit)
        return self._train("baseline_train", source, baseline.key(), options)

    def _trainings(self) -> dict[str, TrainResult]:
        """Every training the config asks for: nanoflux-N, random-N, full."""
        found = {"tuned": self.tuned, "random": self.random, "full": self.full}
        return {name: result for name, result in found.items() if result is not None}

    def _split_source(
        self, stage: str, split: TrainingSplit, n: int | None, limit: int | None = None
    ) -> Callable[[], list[dict]]:
        """The examples a training on ``split`` sees: its (first ``limit``) items, or ``n`` of
        them drawn at random. Which ones, and of how many, goes to STAGE/drawn.json."""

        def source() -> list[dict]:
            from .domains import load_benchmark
            from .training import benchmark_examples, sample_items

            items = load_benchmark(self.host, split.benchmark, limit)
            chosen = items
            if n is not None:
                try:
                    chosen = sample_items(items, n, split.seed)
                except ConfigError as exc:
                    table = STAGE_TABLES[stage]
                    raise ConfigError(f"[{table}] {split.benchmark}: {exc.message}") from None
            drawn = {
                "benchmark": split.benchmark,
                "split_items": len(items),
                "seed": None if n is None else split.seed,
                "items": [item.id for item in chosen],
            }
            (self.out / stage).mkdir(parents=True, exist_ok=True)
            write_atomic(self.out / stage / DRAWN, json.dumps(drawn) + "\n")
            return benchmark_examples(chosen)

        return source

    def _evaluation(self, name: str):
        """One model evaluated: the base, or a trained model (base plus its adapter)."""
        settings = self.config.eval
        if name == "base":
            spec = settings.base_model or settings.serve or self.tuned.base_spec
            return self._evaluate("eval_base", spec, "")
        result = getattr(self, name)
        served = f"{settings.serve}+{Path(result.adapter_dir).resolve()}"
        spec = served if settings.serve else result.tuned_spec
        return self._evaluate(f"eval_{name}", spec, _key(result.model_dump(mode="json")))

    def _stage(self, stage: str) -> None:
        """One stage, as a whole pipeline would run it (and skip it when finished)."""
        self._asked = stage
        if stage == "run":
            self.run_marker  # noqa: B018 - the property runs the stage
        elif stage.startswith("eval_"):
            self._evaluation(stage.removeprefix("eval_"))
        else:
            getattr(self, STAGE_MODELS[stage])

    def execute(self) -> dict[str, Any]:
        from .report.results import results_markdown

        self.out.mkdir(parents=True, exist_ok=True)
        if self.only is not None:
            for stage in self.configured():
                if stage in self.only:
                    self._stage(stage)
            done = {s: ("ran" if s in self.ran else "skipped") for s in self.ran + self.skipped}
            return {"out": str(self.out), "stages": done}
        run_marker = self.run_marker
        trainings = self._trainings()
        # base first, then each trained model: base, nanoflux-N, random-N, full
        evals = {name: self._evaluation(name) for name in ("base", *trainings)}
        summary = self.summary(run_marker, trainings, evals)
        write_atomic(self.out / "pipeline.json", json.dumps(summary, indent=2) + "\n")
        write_atomic(self.out / RESULTS_FILE, results_markdown(summary))
        if self.config.report:
            from .report import build_report

            summary["report"] = str(build_report(self.out))
        return summary

    def summary(
        self, run_marker: dict[str, Any], trainings: dict[str, TrainResult], evals: dict[str, Any]
    ) -> dict[str, Any]:
        """pipeline.json: each model's accuracy, interval, validity and training compute;
        the paired comparisons; the compute table."""
        from .evaluation import compare

        names = model_names(trainings, self.config.baseline)
        comparisons = [
            compare(*evals[a], *evals[b]).model_dump(mode="json")
            | {"label": f"{a} vs {b}", "title": f"{names[a]} vs {names[b]}"}
            for a, b in COMPARISONS
            if a in evals and b in evals
        ]
        protocol = evals["base"].summary.protocol
        return {
            "out": str(self.out),
            "finished_at": utc_now(),
            "stages": {s: ("ran" if s in self.ran else "skipped") for s in self.ran + self.skipped},
            "run": run_marker["result"],
            "protocol": protocol.model_dump(mode="json") if protocol else None,
            "accuracy": {name: s.headline() for name, (s, _) in evals.items()},
            "models": {
                name: model_row(names[name], evals[name].summary, trainings.get(name))
                for name in evals
            },
            "comparisons": comparisons,
            "compute": compute_table(self.out, trainings),
        }


#: the models of a pipeline: key, training stage, [table] that asks for it
TRAINING_STAGES = {"tuned": "train", "random": "control_train", "full": "baseline_train"}
STAGE_MODELS = {stage: model for model, stage in TRAINING_STAGES.items()}
#: every stage a pipeline can have, in the order it runs them
STAGE_NAMES = ("run", *STAGE_MODELS, "eval_base", *(f"eval_{m}" for m in TRAINING_STAGES))
STAGE_TABLES = {"train": "train", "control_train": "control", "baseline_train": "baseline"}
#: model vs baseline, where both were evaluated: the payoff's questions first
COMPARISONS = (
    ("tuned", "base"),
    ("tuned", "random"),
    ("random", "base"),
    ("full", "base"),
    ("tuned", "full"),
)
DRAWN = "drawn.json"
RESULTS_FILE = "results.md"


def model_names(trainings: dict[str, TrainResult], baseline: BaselineStage | None) -> dict:
    """What the results call each model: base, nanoflux-N, random-N, full (full-N when it
    trained on a stated part of the split)."""
    names = {"base": "base"}
    if "tuned" in trainings:
        names["tuned"] = f"nanoflux-{trainings['tuned'].examples}"
    if "random" in trainings:
        names["random"] = f"random-{trainings['random'].examples}"
    if "full" in trainings:
        whole = baseline is None or (baseline.sample is None and baseline.limit is None)
        names["full"] = "full" if whole else f"full-{trainings['full'].examples}"
    return names


def model_row(name: str, summary, training: TrainResult | None) -> dict[str, Any]:
    """One model of the results: its spec (base+adapter for a tuned one, loadable as it
    is), accuracy with its interval, validity flags beside it, and its training compute."""
    validity = summary.validity
    return {
        "name": name,
        "spec": summary.model,
        "adapter": str(training.adapter_dir) if training else None,
        "n": summary.n,
        "correct": summary.correct,
        "accuracy": summary.accuracy,
        "ci95": list(summary.ci95),
        "validity": validity.model_dump(mode="json") if validity else None,
        "eval_seconds": summary.seconds,
        "training": _train_compute(training) if training else None,
    }


def compute_table(out: Path, trainings: dict[str, TrainResult]) -> dict[str, Any]:
    """Measured compute of each stage, and the ratio the paper's claim is about: full's
    training over nanoflux-N's (generation, which nanoflux-N needs too, stated apart)."""
    stats = RunStore(out / "run").stats()
    table: dict[str, Any] = {
        "generation": {"tokens": stats.get("total_tokens"), "seconds": stats.get("seconds")},
    }
    for name, stage in TRAINING_STAGES.items():
        if name in trainings:
            table[stage] = _train_compute(trainings[name])
    tuned, full = trainings.get("tuned"), trainings.get("full")
    if full is not None:
        table["baseline_train"] |= _whole_split(out / "baseline_train", full)
    if tuned is not None and full is not None:
        ratios = {
            "flops_ratio_full_over_tuned": (full.flops_estimate, tuned.flops_estimate),
            "tokens_ratio_full_over_tuned": (full.tokens_seen, tuned.tokens_seen),
            "seconds_ratio_full_over_tuned": (full.seconds, tuned.seconds),
        }
        table |= {key: a / b if b else None for key, (a, b) in ratios.items()}
    return table


def _whole_split(folder: Path, result: TrainResult) -> dict[str, Any]:
    """For a training on a random part of its split: the tokens and seconds the whole
    split would take for the same epochs at the measured rate (a training cut by
    max_steps says nothing of that)."""
    drawn, config = (_object(folder / name) for name in (DRAWN, "train_config.json"))
    if drawn.get("seed") is None or (config.get("options") or {}).get("max_steps"):
        return {}
    used, whole = len(drawn.get("items") or []), drawn.get("split_items") or 0
    if not used or whole <= used:
        return {}
    return {
        "split_items": whole,
        "tokens_whole_split_estimate": round(result.tokens_seen * whole / used),
        "seconds_whole_split_estimate": result.seconds * whole / used,
    }


def _object(path: Path) -> dict[str, Any]:
    found = load_json(path) if path.is_file() else None
    return found if isinstance(found, dict) else {}


def _train_compute(result: TrainResult) -> dict[str, Any]:
    return {
        "examples": result.examples,
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "seconds": result.seconds,
        "flops_estimate": result.flops_estimate,
        "flops_formula": result.extra.get("flops_formula"),
        "final_loss": result.final_loss,
        "tuned_spec": result.tuned_spec,
    }
