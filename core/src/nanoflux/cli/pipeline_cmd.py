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
@click.option("--json", "as_json", is_flag=True, help="Print pipeline.json.")
def pipeline(config: Path, out: Path | None, as_json: bool) -> None:
    """Generate a dataset ([run]), LoRA-train on it ([train]), optionally train on the
    benchmark's own training set ([baseline]), evaluate base/tuned/full on the same
    items under one protocol ([eval], as nanoflux eval) and write the report. Run it
    again to resume: finished stages are skipped, a stopped evaluation goes on."""
    from ..pipeline import Pipeline, load_pipeline_config
    from . import current_host

    settings = load_pipeline_config(config)
    out = out or settings.out or Path("runs") / f"pipeline-{datetime.now():%Y%m%d-%H%M%S}"
    say = (lambda line: None) if as_json else (lambda line: click.echo(line, err=True))
    summary = Pipeline(settings, out, current_host(), say=say).execute()
    if as_json:
        click.echo(json.dumps(summary))
        return
    if summary.get("protocol"):
        click.echo(
            f"protocol: {summary['protocol']['name']}, {summary['protocol']['max_tokens']} tokens"
        )
    for name, acc in summary["accuracy"].items():
        low, high = acc["ci95"]
        flag = "  DEGENERATE (see validity warnings)" if acc.get("degenerate") else ""
        click.echo(f"{name:<6} {acc['accuracy']:.3f} [{low:.3f}, {high:.3f}]  {acc['model']}{flag}")
    for c in summary["comparisons"]:
        click.echo(f"{c['label']}: delta {c['delta']:+.3f}, McNemar p = {c['p_value']:.4g}")
    compute = summary["compute"]
    if compute.get("flops_ratio_full_over_tuned"):
        click.echo(
            f"training FLOPs, full benchmark / generated set: "
            f"{compute['flops_ratio_full_over_tuned']:.1f}x"
        )
    click.echo(f"pipeline: {out}")
    if summary.get("report"):
        click.echo(f"report: {summary['report']}")


COMMANDS = [pipeline]
