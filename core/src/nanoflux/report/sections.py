"""The sections of the report page, each from the part of a folder it describes.

Each ``*_section`` returns HTML blocks; ``img(path, alt, missing)`` turns a plot's path
(or None when there was nothing to plot) into an image or a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import Candidate
from . import html, plots
from .data import ReportData, RunData


def contents(data: ReportData) -> str:
    rows = [
        ("run", data.run.folder.name if data.run else None),
        ("trainings", ", ".join(t.name for t in data.trainings) or None),
        ("evaluations", ", ".join(e.name for e in data.evals) or None),
        ("comparisons", len(data.comparisons)),
        ("ablations", len(data.ablations)),
    ]
    return html.table(["part", "found"], rows)


def run_section(run: RunData | None, images: Path, img) -> list[str]:
    if run is None:
        return [html.note("No run directory here (no candidates.jsonl or stats.json).")]
    stats = run.stats or {}
    blocks = []
    config = run.config
    rows = [
        ("domain", config.get("domain")),
        ("attacker", config.get("attacker", {}).get("spec")),
        ("defender", config.get("defender", {}).get("spec")),
        ("judge", config.get("judge", {}).get("spec")),
        ("attempts", stats.get("attempts", len(run.candidates))),
        ("accepted", stats.get("accepted", len(run.dataset))),
        ("acceptance rate", stats.get("acceptance_rate")),
        ("total tokens", stats.get("total_tokens")),
        ("accepted per million tokens", stats.get("accepted_per_million_tokens")),
        ("seconds", stats.get("seconds")),
        ("stopped because", stats.get("stopped_because")),
    ]
    blocks.append(html.table(["", "value"], [r for r in rows if r[1] is not None]))

    points = stats.get("accepted_per_round") or _accepted_points(run.candidates)
    blocks.append(
        img(
            plots.accepted_per_round(points, images / "accepted_per_round.png"),
            "accepted per round",
            "No accepted examples to plot per round.",
        )
    )
    reasons = stats.get("rejections") or _rejections(run.candidates)
    blocks.append(
        img(
            plots.rejections(reasons, images / "rejections.png"),
            "rejections by reason",
            "No rejections recorded.",
        )
    )
    acceptance = config.get("acceptance", {})
    verdicts = [
        (c.verdict.model_dump(), c.accepted) for c in run.candidates if c.verdict is not None
    ]
    window = None
    if "quality_min" in acceptance and "quality_max" in acceptance:
        window = (acceptance["quality_min"], acceptance["quality_max"])
    blocks.append(
        img(
            plots.judge_scores(verdicts, images / "judge_scores.png", window),
            "judge score distributions",
            "No judge verdicts recorded.",
        )
    )
    questions = [(c.question, c.accepted) for c in run.candidates if c.question is not None]
    hop_window = None
    if "hops_min" in acceptance and "hops_max" in acceptance:
        hop_window = (acceptance["hops_min"], acceptance["hops_max"])
    blocks.append(
        img(
            plots.hops(
                [q.hops for q, _ in questions],
                [q.hops for q, ok in questions if ok],
                images / "hops.png",
                hop_window,
            ),
            "hop distribution",
            "No questions recorded.",
        )
    )
    similarities = [c.novelty.similarity for c in run.candidates if c.novelty is not None]
    novelty_config = config.get("novelty", {})
    thresholds = {
        k: novelty_config[k]
        for k in ("duplicate_threshold", "contamination_threshold")
        if k in novelty_config
    }
    blocks.append(
        img(
            plots.novelty(similarities, images / "novelty.png", thresholds),
            "novelty similarities",
            "No novelty checks recorded.",
        )
    )
    usage = stats.get("usage") or {}
    blocks.append(
        img(
            plots.tokens_per_role(usage, images / "tokens_per_role.png"),
            "tokens per role",
            "No token usage recorded.",
        )
    )
    if usage:
        blocks.append(
            html.table(
                ["role", "calls", "failed", "prompt tokens", "completion tokens", "seconds"],
                [
                    (
                        role,
                        u.get("calls"),
                        u.get("failed_calls"),
                        u.get("prompt_tokens"),
                        u.get("completion_tokens"),
                        u.get("seconds"),
                    )
                    for role, u in usage.items()
                ],
            )
        )
    return blocks


def _accepted_points(candidates: list[Candidate]) -> list[list[int]]:
    points, total = [], 0
    for candidate in candidates:
        if candidate.accepted:
            total += 1
            points.append([candidate.round, total])
    return points


def _rejections(candidates: list[Candidate]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for candidate in candidates:
        if not candidate.accepted:
            counts[candidate.reason] = counts.get(candidate.reason, 0) + 1
    return counts


def training_section(data: ReportData, images: Path, img) -> list[str]:
    if not data.trainings:
        return [html.note("No training here (no train_log.jsonl).")]
    blocks = [
        img(
            plots.loss_curves({t.name: t.log for t in data.trainings}, images / "loss.png"),
            "training loss",
            "The training logs hold no steps.",
        )
    ]
    rows = []
    for t in data.trainings:
        options = t.config.get("options", {})
        result = t.result or {}
        last = t.log[-1] if t.log else {}
        rows.append(
            (
                t.name,
                t.config.get("model"),
                result.get("examples", t.config.get("examples")),
                result.get("steps", last.get("step")),
                options.get("rank"),
                options.get("learning_rate"),
                options.get("epochs"),
                t.log[0]["loss"] if t.log else None,
                last.get("loss"),
            )
        )
    blocks.append(
        html.table(
            [
                "training",
                "base model",
                "examples",
                "steps",
                "rank",
                "learning rate",
                "epochs",
                "first loss",
                "last loss",
            ],
            rows,
        )
    )
    return blocks


def _eval_label(name: str, taken: set[str]) -> str:
    short = name.rsplit("/", 1)[-1]
    label = short if short not in taken else name
    taken.add(label)
    return label


def evaluation_section(data: ReportData, images: Path, img) -> list[str]:
    if not data.evals:
        return [html.note("No evaluation here (no summary.json with accuracy).")]
    taken: set[str] = set()
    labelled = [(_eval_label(e.name, taken), e.summary) for e in data.evals]
    bars = [(label, s["accuracy"], tuple(s["ci95"])) for label, s in labelled]
    benchmarks = sorted({s.get("benchmark", "") for _, s in labelled})
    blocks = [
        img(
            plots.accuracy(
                bars,
                images / "accuracy.png",
                "Accuracy on " + ", ".join(b for b in benchmarks if b),
            ),
            "accuracy with confidence intervals",
            "No accuracy to plot.",
        )
    ]
    blocks.append(
        html.table(
            [
                "evaluation",
                "model",
                "benchmark",
                "answer format",
                "n",
                "correct",
                "accuracy",
                "95% CI",
                "failures",
            ],
            [
                (
                    label,
                    s.get("model"),
                    s.get("benchmark"),
                    s.get("answer_format", "json"),
                    s.get("n"),
                    s.get("correct"),
                    s["accuracy"],
                    f"[{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]",
                    ", ".join(f"{k}: {v}" for k, v in (s.get("failures") or {}).items()) or None,
                )
                for label, s in labelled
            ],
        )
    )
    if data.comparisons:
        blocks.append(
            html.paragraph(
                "Paired comparisons on the same items: exact McNemar test on the discordant items; "
                "the interval of the difference is a paired bootstrap."
            )
        )
        blocks.append(
            html.table(
                [
                    "model",
                    "baseline",
                    "n",
                    "accuracy",
                    "baseline accuracy",
                    "delta",
                    "delta 95% CI",
                    "model only right",
                    "baseline only right",
                    "McNemar p",
                    "bootstrap p",
                ],
                [
                    (
                        c.get("model"),
                        c.get("baseline"),
                        c.get("n"),
                        c.get("accuracy"),
                        c.get("baseline_accuracy"),
                        c.get("delta"),
                        f"[{c['delta_ci95'][0]:+.3f}, {c['delta_ci95'][1]:+.3f}]"
                        if c.get("delta_ci95")
                        else None,
                        c.get("model_only"),
                        c.get("baseline_only"),
                        c.get("p_value"),
                        c.get("p_value_bootstrap"),
                    )
                    for c in data.comparisons
                ],
            )
        )
    return blocks


def compute_section(data: ReportData) -> list[str]:
    rows: list[tuple[Any, ...]] = []
    if data.run and data.run.stats:
        stats = data.run.stats
        rows.append(
            (
                "generation run",
                "tokens generated and read by the three roles",
                stats.get("total_tokens"),
                stats.get("seconds"),
                None,
                None,
            )
        )
    # the cheapest training (normally the one on the generated set) is the unit
    reference = min(
        (
            t.result["flops_estimate"]
            for t in data.trainings
            if t.result and t.result.get("flops_estimate")
        ),
        default=None,
    )
    for t in data.trainings:
        result = t.result or {}
        flops = result.get("flops_estimate")
        rows.append(
            (
                f"training {t.name}",
                t.config.get("flops_formula", ""),
                result.get("tokens_seen"),
                result.get("seconds"),
                flops,
                flops / reference if flops and reference else None,
            )
        )
    for e in data.evals:
        s = e.summary
        tokens = (s.get("prompt_tokens") or 0) + (s.get("completion_tokens") or 0)
        rows.append(
            (f"evaluation {e.name}", s.get("model"), tokens or None, s.get("seconds"), None, None)
        )
    if not rows:
        return [html.note("No compute recorded.")]
    blocks = [
        html.table(
            ["stage", "what", "tokens", "seconds", "training FLOPs (estimate)", "FLOPs ratio"], rows
        )
    ]
    if reference:
        blocks.append(
            html.paragraph(
                "FLOPs ratio: each training's estimate divided by the cheapest training's. "
                "Training FLOPs are estimated as 6 x total parameters x tokens seen "
                "(tokens measured)."
            )
        )
    return blocks


def ablation_section(data: ReportData, images: Path, img) -> list[str]:
    blocks = []
    for number, ablation in enumerate(data.ablations):
        by = ablation.get("by", "band")
        path = images / f"ablation_{number}_{by}.png"
        blocks.append(
            img(
                plots.ablation(ablation["rows"], ablation.get("base"), path, by),
                f"ablation by {by}",
                "No band was trained.",
            )
        )
        blocks.append(
            html.table(
                [
                    "band",
                    "eligible",
                    "examples",
                    "accuracy",
                    "95% CI",
                    "delta vs base",
                    "McNemar p",
                ],
                [
                    (
                        r["band"],
                        r.get("eligible"),
                        r.get("examples"),
                        r.get("accuracy"),
                        f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]" if r.get("ci95") else None,
                        r.get("delta"),
                        r.get("p_value"),
                    )
                    for r in ablation["rows"]
                ],
            )
        )
    return blocks
