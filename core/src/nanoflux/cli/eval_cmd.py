"""``nanoflux eval``: a model's benchmark accuracy, optionally against a baseline."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from ..errors import UsageError
from .options import parse_pairs, protocol_option


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


def format_validity(summary) -> str:
    v = summary.validity
    return (
        f"  validity: identical {v.identical_share:.0%}, malformed {v.malformed_share:.0%}, "
        f"copied {v.copied_share:.0%}, last-number fallback {v.fallback_share:.0%}, "
        f"cut by the budget {v.truncated_share:.0%}, no reasoning {v.no_reasoning_share:.0%}"
    )


def warn_if_degenerate(label: str, summary) -> None:
    """Loud, on stderr, whatever the output mode: a degenerate number must not pass unseen."""
    if summary.validity and summary.validity.degenerate:
        for warning in summary.validity.warnings:
            click.secho(f"WARNING: {label} result looks degenerate: {warning}", fg="red", err=True)


@click.command(name="eval")
@click.option("--model", "-m", required=True, help="Model spec to evaluate.")
@click.option(
    "--benchmark", "-b", required=True, help="DOMAIN:FORMAT:PATH, e.g. math:gsm8k:test.jsonl."
)
@click.option("--limit", type=int, help="Only the first N items.")
@click.option(
    "--baseline",
    help="A second model evaluated on the same items, or the folder of an earlier "
    "evaluation (its summary.json); compared only under the same protocol.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Folder for results (default runs/eval-TIME); the same folder again resumes.",
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
@protocol_option(("cot", "cot-fewshot", "json", "text"), default="cot")
@click.option("--shots", type=int, default=5, show_default=True, help="Exemplars for cot-fewshot.")
@click.option(
    "--exemplars",
    help="DOMAIN:FORMAT:PATH of the training split for cot-fewshot "
    "(default: train.jsonl beside the benchmark file).",
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
    protocol_name,
    shots,
    exemplars,
    as_json,
):
    """Accuracy of MODEL on a benchmark with a 95% Wilson interval and validity flags; with
    --baseline, the paired difference and an exact McNemar test. Each answered item goes
    to --out as it finishes: the same command with the same --out resumes a stopped
    evaluation."""
    from ..evaluation import Harness, compare, report_json, write_report
    from . import current_host

    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    if max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    harness = Harness.prepare(
        current_host(),
        benchmark,
        limit=limit,
        protocol=protocol_name,
        max_tokens=max_tokens,
        shots=shots,
        exemplars=exemplars,
        options=parse_pairs(model_options, "--option"),
        concurrency=concurrency,
        say=lambda line: click.echo(line, err=True),
    )
    # a folder is refused before any item is asked: another protocol is not comparable
    earlier = harness.earlier(Path(baseline)) if baseline and Path(baseline).is_dir() else None
    out = out or Path("runs") / f"eval-{datetime.now():%Y%m%d-%H%M%S}"
    result = harness.evaluate(out / "model", model, progress=progress_printer("model", not as_json))
    warn_if_degenerate("model", result.summary)
    if baseline and earlier is None:
        show = progress_printer("baseline", not as_json)
        earlier = harness.evaluate(out / "baseline", baseline, progress=show)
        warn_if_degenerate("baseline", earlier.summary)
    comparison = compare(*result, *earlier) if earlier else None
    data = report_json(result.summary, comparison)
    if earlier is not None:
        data["baseline_degenerate"] = bool(
            earlier.summary.validity and earlier.summary.validity.degenerate
        )
    write_report(out, data)
    if as_json:
        click.echo(json.dumps(data))
    else:
        show_result(harness.protocol, result.summary, earlier, comparison)
        click.echo(f"results: {out}")


def show_result(protocol, summary, baseline, comparison) -> None:
    """The human form of an evaluation (and its comparison) on stdout."""
    click.echo(f"protocol: {protocol.label()}")
    click.echo(f"{summary.model}: {format_accuracy(summary)}")
    click.echo(format_validity(summary))
    if comparison is None:
        return
    click.echo(f"{baseline.summary.model}: {format_accuracy(baseline.summary)}")
    if baseline.summary.validity:
        click.echo(format_validity(baseline.summary))
    low, high = comparison.delta_ci95
    click.echo(
        f"delta {comparison.delta:+.3f} (bootstrap 95% CI [{low:+.3f}, {high:+.3f}]), "
        f"discordant {comparison.model_only} vs {comparison.baseline_only}, "
        f"exact McNemar p = {comparison.p_value:.4g}"
    )


COMMANDS = [eval_command]
