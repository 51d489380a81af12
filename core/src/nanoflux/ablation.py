"""``nanoflux ablate``: fine-tune on slices of a run's candidates and compare the results.

The paper's curve: accuracy after training on questions of one quality band (L1-L5)
or one hop band is not monotonic in the band. Eligible candidates are those with a
question and a verdict whose reference answer the tools verified, whatever the run
decided about them (a band outside the acceptance window is exactly what an ablation
wants to see). Each band's subset is capped at the same size and trained with the
same options; every band model and the base model answer the same benchmark items.

Output folder::

    base/                       evaluation of the base model
    band-<BAND>/train/, eval/   one training and evaluation per band
    ablation.json, ablation.md, ablation.png
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine.run_store import RunStore
from .errors import ConfigError, DataFormatError, UsageError
from .inputs import load_json, located
from .records import Candidate, quality_level
from .storage import ensure_real_dir, write_atomic
from .training import TrainOptions, TrainResult, train_in

QUALITY_BANDS = ("L1", "L2", "L3", "L4", "L5")
DEFAULT_HOP_BANDS = "1-2,3-4,5-6,7-20"
BY = ("quality", "hops")


def parse_hop_bands(text: str) -> list[tuple[str, int, int]]:
    bands = []
    for part in text.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        try:
            bounds = (int(low), int(high) if sep else int(low))
        except ValueError:
            raise UsageError(f"hop band {part!r} is not N or N-M") from None
        if bounds[0] > bounds[1]:
            raise UsageError(f"hop band {part!r} runs backwards")
        bands.append((part, *bounds))
    return bands


def eligible(candidate: Candidate) -> bool:
    verdict = candidate.verdict
    return verdict is not None and candidate.question is not None and verdict.reference_verified


def band_of(candidate: Candidate, by: str, hop_bands: list[tuple[str, int, int]]) -> str | None:
    if by == "quality":
        verdict = candidate.verdict
        return verdict.level or quality_level(verdict.reasoning_quality)
    hops = candidate.question.hops
    return next((name for name, low, high in hop_bands if low <= hops <= high), None)


def candidate_example(candidate: Candidate) -> dict[str, Any]:
    """A candidate as a chat example, in the same shape as the run's dataset.jsonl."""
    from .domains import choices_text
    from .engine.example import assistant_message, example_id

    question = candidate.question
    user = question.text.strip()
    if question.choices:
        user += "\n\n" + choices_text(question.choices)
    return {
        "id": example_id(question.domain, question.text),
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant_message(question)},
        ],
    }


def read_candidates(run_dir: Path) -> list[Candidate]:
    store = RunStore(run_dir)
    if not store.candidates_path.is_file():
        raise ConfigError(f"{run_dir} has no candidates.jsonl", hint="name a run directory")
    return list(store.candidates())


def subsets(
    candidates: list[Candidate],
    by: str,
    hop_bands: list[tuple[str, int, int]],
    cap: int,
    seed: int,
) -> list[tuple[str, int, list[dict[str, Any]]]]:
    """(band, eligible count, capped examples) per band, in band order; questions deduplicated."""
    if by not in BY:
        raise UsageError(f"--by {by!r}: use one of {', '.join(BY)}")
    names = list(QUALITY_BANDS) if by == "quality" else [name for name, _, _ in hop_bands]
    grouped: dict[str, list[Candidate]] = {name: [] for name in names}
    seen: set[str] = set()
    for candidate in candidates:
        if not eligible(candidate):
            continue
        text = " ".join(candidate.question.text.lower().split())
        if text in seen:
            continue
        seen.add(text)
        band = band_of(candidate, by, hop_bands)
        if band in grouped:
            grouped[band].append(candidate)
    rng = random.Random(seed)
    result = []
    for name in names:
        members = grouped[name]
        chosen = members if len(members) <= cap else rng.sample(members, cap)
        result.append((name, len(members), [candidate_example(c) for c in chosen]))
    return result


def band_slices(run_dir: Path, by: str, hop_bands: str, cap: int, seed: int, min_examples: int):
    """:func:`subsets` of ``run_dir``'s candidates; an error when no band has enough."""
    bands = parse_hop_bands(hop_bands) if by == "hops" else []
    slices = subsets(read_candidates(run_dir), by, bands, cap, seed)
    if not any(len(examples) >= min_examples for _, _, examples in slices):
        raise DataFormatError(
            f"{run_dir}: no {by} band has {min_examples}+ eligible candidates "
            "(a question and a verdict with a verified reference)"
        )
    return slices


def run_ablation(
    host,
    run_dir: Path,
    harness,
    *,
    by: str,
    model: str,
    out: Path,
    options: TrainOptions,
    trainer: str = "peft",
    cap: int = 200,
    min_examples: int = 1,
    hop_bands: str = DEFAULT_HOP_BANDS,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Train on each band of ``run_dir``'s candidates and evaluate every band model and
    the base model through ``harness`` (a :class:`nanoflux.evaluation.Harness`)."""
    from .report import plots

    out = Path(out)
    slices = band_slices(run_dir, by, hop_bands, cap, options.seed, min_examples)
    engine = host.open_trainer(trainer)
    rows: list[dict[str, Any]] = []
    base = None
    for band, count, examples in slices:
        row: dict[str, Any] = {"band": band, "eligible": count, "examples": len(examples)}
        rows.append(row)
        if len(examples) < min_examples:
            row["skipped"] = f"fewer than {min_examples} eligible examples"
            continue
        result = train_band(engine, out / f"band-{band}", band, examples, model, options, say)
        if base is None:
            base = harness.evaluate(out / "base", result.base_spec)
        row.update(evaluate_band(harness, out / f"band-{band}" / "eval", result, base, say))
    report = {
        "by": by,
        "run": str(run_dir),
        "benchmark": str(harness.benchmark),
        "model": model,
        "cap": cap,
        "answer_format": harness.protocol.name,
        "protocol": harness.protocol.model_dump(mode="json"),
        "hop_bands": hop_bands if by == "hops" else None,
        "options": options.model_dump(mode="json"),
        "base": None if base is None else base.summary.headline(),
        "rows": rows,
    }
    ensure_real_dir(out)
    write_atomic(out / "ablation.json", json.dumps(report, indent=2) + "\n")
    write_atomic(out / "ablation.md", markdown_table(report))
    plots.ablation(rows, report["base"], out / "ablation.png", by)
    return report


def evaluate_band(harness, folder: Path, result: TrainResult, base, say) -> dict[str, Any]:
    """The band model's row: its accuracy and its paired comparison with the base."""
    from .evaluation import compare

    say(f"evaluating {result.tuned_spec} on {len(harness.items)} items")
    # the band's training keys its evaluation: retrained weights keep their spec
    key = hashlib.sha256(result.model_dump_json().encode()).hexdigest()[:16]
    summary, items = harness.evaluate(folder, result.tuned_spec, model_key=key)
    comparison = compare(summary, items, *base)
    return {
        "accuracy": summary.accuracy,
        "ci95": list(summary.ci95),
        "degenerate": bool(summary.validity and summary.validity.degenerate),
        "delta": comparison.delta,
        "delta_ci95": list(comparison.delta_ci95),
        "p_value": comparison.p_value,
        "tokens_seen": result.tokens_seen,
        "flops_estimate": result.flops_estimate,
        "train_seconds": result.seconds,
        "model": result.tuned_spec,
    }


def train_band(engine, folder: Path, band, examples, model, options, say) -> TrainResult:
    """The band's training: read back when ``folder/train`` holds a finished one."""
    result_path = folder / "train" / "train_result.json"
    if result_path.is_file():
        with located(str(result_path)):
            return TrainResult.model_validate(load_json(result_path))
    say(f"band {band}: training on {len(examples)} examples")
    return train_in(engine, examples, model, folder / "train", options)


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        f"# Ablation by {report['by']}",
        "",
        f"Benchmark {report['benchmark']}, base {report['model']}, "
        f"cap {report['cap']} examples per band.",
        "",
    ]
    if report["base"]:
        b = report["base"]
        lines += [
            f"Base model: accuracy {b['accuracy']:.3f} "
            f"[{b['ci95'][0]:.3f}, {b['ci95'][1]:.3f}] on {b['n']} items.",
            "",
        ]
    lines += [
        "| band | eligible | examples | accuracy | 95% CI | delta vs base | McNemar p |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        if row.get("accuracy") is None:
            lines.append(
                f"| {row['band']} | {row['eligible']} | {row['examples']} | – | – | – | – |"
            )
            continue
        lines.append(
            f"| {row['band']} | {row['eligible']} | {row['examples']} | {row['accuracy']:.3f} | "
            f"[{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}] | {row['delta']:+.3f} | "
            f"{row['p_value']:.3g} |"
        )
    return "\n".join(lines) + "\n"
