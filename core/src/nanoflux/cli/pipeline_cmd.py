"""``nanoflux pipeline CONFIG``: run, train, evaluate and report, each stage resumable."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click


@click.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Pipeline directory (default: `out` in CONFIG, else runs/pipeline-TIME).",
)
@click.option(
    "--stage",
    "stages",
    multiple=True,
    metavar="NAME",
    help="Run only this stage (repeatable), resumed or skipped as in a whole pipeline: "
    "run, train, control_train, baseline_train, eval_base, eval_tuned, eval_random, "
    "eval_full. One that needs an unfinished stage is refused.",
)
@click.option("--json", "as_json", is_flag=True, help="Print pipeline.json.")
def pipeline(config: Path, out: Path | None, stages: tuple[str, ...], as_json: bool) -> None:
    """Generate a dataset ([run]), LoRA-train on it ([train]: nanoflux-N), optionally on
    as many random training items ([control]: random-N) and on the benchmark's training
    set ([baseline]: full), evaluate every model and the base on the same items under one
    protocol ([eval], as nanoflux eval), and write the results (results.md, pipeline.json)
    and the report. Run it again to resume: finished stages are skipped, a stopped run or
    evaluation goes on. Example: examples/payoff-gsm8k.toml.

    With --stage, only the stages named run: those that need no generated data (the
    base's evaluation, the full-benchmark training) can run before or apart from the
    generation, on another machine sharing OUT, such as one with a GPU."""
    from ..pipeline import Pipeline, load_pipeline_config
    from ..report.results import results_markdown
    from . import current_host

    settings = load_pipeline_config(config)
    out = out or settings.out or Path("runs") / f"pipeline-{datetime.now():%Y%m%d-%H%M%S}"
    say = (lambda line: None) if as_json else (lambda line: click.echo(line, err=True))
    summary = Pipeline(settings, out, current_host(), say=say, only=stages or None).execute()
    if as_json:
        click.echo(json.dumps(summary))
        return
    if stages:
        for stage, what in summary["stages"].items():
            click.echo(f"{stage}: {what}")
        click.echo(f"pipeline: {out} (the other stages run without --stage)")
        return
    click.echo(results_markdown(summary))
    click.echo(f"pipeline: {out}")
    if summary.get("report"):
        click.echo(f"report: {summary['report']}")


COMMANDS = [pipeline]
