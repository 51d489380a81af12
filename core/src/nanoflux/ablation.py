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

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine.run_store import RunStore
from .errors import ConfigError, DataFormatError, UsageError
from .inputs import load_json, located
from .records import Candidate, quality_level
from .training import TrainOptions, TrainResult

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
    from .engine.example import assistant_message, example_id
    from .evaluation import choices_text

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


def run_ablation(
    host,
    run_dir: Path,
    *,
    by: str,
    benchmark: str,
    model: str,
    out: Path,
    options: TrainOptions,
    trainer: str = "peft",
    cap: int = 200,
    min_examples: int = 1,
    limit: int | None = None,
    hop_bands: str = DEFAULT_HOP_BANDS,
    max_tokens: int = 512,
    concurrency: int = 8,
    answer_format: str = "cot",
    eval_options: dict[str, Any] | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    from .evaluation import compare, load_benchmark, make_protocol, run_evaluation
    from .report import plots

    out = Path(out)
    bands = parse_hop_bands(hop_bands) if by == "hops" else []
    slices = subsets(read_candidates(run_dir), by, bands, cap, options.seed)
    if not any(len(examples) >= min_examples for _, _, examples in slices):
        raise DataFormatError(
            f"{run_dir}: no {by} band has {min_examples}+ eligible candidates "
            "(a question and a verdict with a verified reference)"
        )
    domain, spec, items = load_benchmark(host, benchmark, limit)
    engine = host.open_trainer(trainer)

    protocol = make_protocol(answer_format, max_tokens=max_tokens)

    def evaluate(folder: Path, spec_text: str):
        say(f"evaluating {spec_text} on {len(items)} items")
        return run_evaluation(
            host,
            folder,
            spec_text,
            domain,
            str(spec),
            items,
            protocol=protocol,
            options=eval_options,
            concurrency=concurrency,
            say=say,
        )

    rows: list[dict[str, Any]] = []
    base = None
    for band, count, examples in slices:
        row: dict[str, Any] = {"band": band, "eligible": count, "examples": len(examples)}
        rows.append(row)
        if len(examples) < min_examples:
            row["skipped"] = f"fewer than {min_examples} eligible examples"
            continue
        folder = out / f"band-{band}"
        result_path = folder / "train" / "train_result.json"
        if result_path.is_file():
            with located(str(result_path)):
                result = TrainResult.model_validate(load_json(result_path))
        else:
            say(f"band {band}: training on {len(examples)} examples")
            result = engine.train(examples, model, folder / "train", options)
        tuned_spec = result.tuned_spec
        if base is None:
            base = evaluate(out / "base", result.base_spec)
        summary, results = evaluate(folder / "eval", tuned_spec)
        comparison = compare(summary, results, *base)
        row.update(
            accuracy=summary.accuracy,
            ci95=list(summary.ci95),
            delta=comparison.delta,
            delta_ci95=list(comparison.delta_ci95),
            p_value=comparison.p_value,
            tokens_seen=result.tokens_seen,
            flops_estimate=result.flops_estimate,
            train_seconds=result.seconds,
            model=tuned_spec,
        )
    base_summary = base[0] if base else None
    report = {
        "by": by,
        "run": str(run_dir),
        "benchmark": str(spec),
        "model": model,
        "cap": cap,
        "answer_format": answer_format,
        "hop_bands": hop_bands if by == "hops" else None,
        "options": options.model_dump(mode="json"),
        "base": None
        if base_summary is None
        else {
            "model": base_summary.model,
            "n": base_summary.n,
            "accuracy": base_summary.accuracy,
            "ci95": list(base_summary.ci95),
        },
        "rows": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (out / "ablation.md").write_text(markdown_table(report), "utf-8")
    plots.ablation(rows, report["base"], out / "ablation.png", by)
    return report


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
