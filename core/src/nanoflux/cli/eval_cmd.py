"""``nanoflux eval``: a model's benchmark accuracy, optionally against a baseline model."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from ..errors import UsageError
from .options import parse_pairs


def progress_printer(label: str, enabled: bool):
    if not (enabled and sys.stderr.isatty()):
        return None

    def show(done: int, total: int) -> None:
        click.echo(f"\r{label}: {done}/{total}", err=True, nl=done == total)

    return show


def format_accuracy(summary) -> str:
    low, high = summary.ci95
    text = f"{summary.accuracy:.3f} ({summary.correct}/{summary.n}), 95% CI [{low:.3f}, {high:.3f}]"
    if summary.failures:
        text += " — failed: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.failures.items()))
    return text


@click.command(name="eval")
@click.option("--model", "-m", required=True, help="Model spec to evaluate.")
@click.option(
    "--benchmark", "-b", required=True, help="DOMAIN:FORMAT:PATH, e.g. math:gsm8k:test.jsonl."
)
@click.option("--limit", type=int, help="Only the first N items.")
@click.option("--baseline", help="A second model evaluated on the same items, for a paired test.")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Folder for results (default runs/eval-TIME).",
)
@click.option(
    "--max-tokens", type=int, default=512, show_default=True, help="Reply budget per item."
)
@click.option(
    "--concurrency",
    type=int,
    default=8,
    show_default=True,
    help="Items in flight (capped by the backend).",
)
@click.option(
    "--option", "-O", "model_options", multiple=True, help="KEY=VALUE backend option (both models)."
)
@click.option(
    "--format",
    "answer_format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: the defender prompt and the Answer schema; text: the bare question, "
    "answer read from the reply's last 'Final answer:' (or GSM8K '####') line.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_command(
    model,
    benchmark,
    limit,
    baseline,
    out,
    max_tokens,
    concurrency,
    model_options,
    answer_format,
    as_json,
):
    """Accuracy of MODEL on a benchmark with a 95% Wilson interval; with --baseline, the
    paired difference and an exact McNemar test. Per-item results go to --out as JSONL."""
    from ..evaluation import compare, evaluate_model, load_benchmark, report_json, write_eval
    from . import current_host

    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    host = current_host()
    domain, spec, items = load_benchmark(host, benchmark, limit)
    options = parse_pairs(model_options, "--option")
    out = out or Path("runs") / f"eval-{datetime.now():%Y%m%d-%H%M%S}"
    common = dict(
        options=options,
        max_tokens=max_tokens,
        concurrency=concurrency,
        answer_format=answer_format,
    )

    summary, results = evaluate_model(
        host,
        model,
        domain,
        str(spec),
        items,
        progress=progress_printer("model", not as_json),
        **common,
    )
    write_eval(out / "model", summary, results)
    comparison = None
    if baseline:
        base_summary, base_results = evaluate_model(
            host,
            baseline,
            domain,
            str(spec),
            items,
            progress=progress_printer("baseline", not as_json),
            **common,
        )
        write_eval(out / "baseline", base_summary, base_results)
        comparison = compare(summary, results, base_summary, base_results)
    data = report_json(summary, comparison)
    (out / "eval.json").write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"{model}: {format_accuracy(summary)}")
    if comparison is not None:
        click.echo(f"{baseline}: {format_accuracy(base_summary)}")
        low, high = comparison.delta_ci95
        click.echo(
            f"delta {comparison.delta:+.3f} (bootstrap 95% CI [{low:+.3f}, {high:+.3f}]), "
            f"discordant {comparison.model_only} vs {comparison.baseline_only}, "
            f"exact McNemar p = {comparison.p_value:.4g}"
        )
    click.echo(f"results: {out}")


COMMANDS = [eval_command]
