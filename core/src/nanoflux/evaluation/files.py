"""An evaluation's folder: ``summary.json``, ``items.jsonl``, and what ``--json`` prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .records import Comparison, ItemResult, ModelEval

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
        "protocol": summary.protocol.model_dump(mode="json") if summary.protocol else None,
        "validity": summary.validity.model_dump(mode="json") if summary.validity else None,
        "degenerate": bool(summary.validity and summary.validity.degenerate),
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
