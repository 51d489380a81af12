"""``nanoflux train``: fine-tune a model on a run's dataset or on a benchmark's training set."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, UsageError

# (flag, TrainOptions field, click type, help)
TRAIN_FLAGS = (
    ("--rank", "rank", int, "LoRA rank."),
    ("--alpha", "alpha", int, "LoRA alpha."),
    ("--dropout", "dropout", float, "LoRA dropout."),
    (
        "--target-modules",
        "target_modules",
        str,
        "Comma-separated module names (default: trainer's choice).",
    ),
    ("--learning-rate", "learning_rate", float, "Peak learning rate."),
    ("--epochs", "epochs", float, "Epochs (fractions allowed)."),
    ("--max-length", "max_length", int, "Tokens per example; longer ones are cut."),
    ("--batch-size", "batch_size", int, "Examples per micro-batch."),
    ("--gradient-accumulation", "gradient_accumulation", int, "Micro-batches per optimizer step."),
    ("--max-steps", "max_steps", int, "Stop after this many optimizer steps."),
    ("--seed", "seed", int, "Seed for shuffling and LoRA initialisation."),
)


def train_options(command):
    """Add the TrainOptions flags (and --merge, --trainer) to a command."""
    for flag, field, kind, text in reversed(TRAIN_FLAGS):
        command = click.option(flag, field, type=kind, default=None, help=text)(command)
    command = click.option(
        "--merge", is_flag=True, help="Also save the model with the adapter merged in."
    )(command)
    command = click.option(
        "--trainer", "trainer_name", default="peft", show_default=True, help="Registered trainer."
    )(command)
    return command


def build_options(values: dict[str, Any], base: dict[str, Any] | None = None):
    """TrainOptions from flag values (None = not given) over ``base`` (e.g. a config table)."""
    from pydantic import ValidationError

    from ..training import TrainOptions

    data = dict(base or {})
    for _, field, _, _ in TRAIN_FLAGS:
        value = values.get(field)
        if value is None:
            continue
        if field == "target_modules":
            value = [name.strip() for name in value.split(",") if name.strip()]
        data[field] = value
    if values.get("merge"):
        data["merge"] = True
    try:
        return TrainOptions.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"training option {where}: {first['msg']}") from None


def _default_out(dataset: Path | None, benchmark: str | None) -> Path:
    if dataset is not None:
        return (dataset if dataset.is_dir() else dataset.parent) / "train"
    slug = benchmark.split(":", 2)[:2] if benchmark else ["train"]
    return Path("runs") / f"train-{'-'.join(slug)}-{datetime.now():%Y%m%d-%H%M%S}"


def echo_result(result) -> None:
    extra = result.extra
    click.echo(
        f"trained {result.examples} examples in {result.steps} steps, "
        f"{result.tokens_seen:,} tokens, {result.seconds:.1f} s, "
        f"~{result.flops_estimate:.3g} FLOPs ({extra.get('flops_formula', '6·N·T')})"
    )
    if result.final_loss is not None:
        click.echo(f"final loss {result.final_loss:.4f}")
    click.echo(f"adapter: {result.adapter_dir}")
    click.echo(f"evaluate it as: {result.tuned_spec}")


@click.command()
@click.argument("dataset", required=False, type=click.Path(path_type=Path))
@click.option(
    "--model",
    "-m",
    "model",
    required=True,
    help="Base model spec, e.g. hf:default or hf:/models/x.",
)
@click.option(
    "--from-benchmark",
    "benchmark",
    help="Train on a benchmark's items instead (DOMAIN:FORMAT:PATH).",
)
@click.option("--limit", type=int, help="Use only the first N benchmark items.")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), help="Output folder.")
@click.option("--overwrite", is_flag=True, help="Replace a finished training in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@train_options
def train(dataset, model, benchmark, limit, out, overwrite, as_json, trainer_name, **flags) -> None:
    """LoRA-fine-tune MODEL on DATASET (a run directory or dataset.jsonl).

    Writes the adapter, train_config.json, train_log.jsonl and train_result.json to --out.
    """
    from ..training import benchmark_examples, read_examples, train_in
    from . import current_host

    if (dataset is None) == (benchmark is None):
        raise UsageError("give either DATASET or --from-benchmark SPEC")
    options = build_options(flags)
    host = current_host()
    if benchmark is not None:
        from ..domains import load_benchmark

        examples = benchmark_examples(load_benchmark(host, benchmark, limit))
    else:
        examples = read_examples(dataset)
    out = out or _default_out(dataset, benchmark)
    if (out / "train_result.json").exists() and not overwrite:
        raise UsageError(
            f"{out} already holds a finished training", hint="use --overwrite or another --out"
        )
    trainer = host.open_trainer(trainer_name)
    result = train_in(trainer, examples, model, out, options)
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json")))
    else:
        echo_result(result)


COMMANDS = [train]
