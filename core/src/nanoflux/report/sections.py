"""The sections of the report page, each from the part of a folder it describes.

Each ``*_section`` returns HTML blocks; ``img(path, alt, missing)`` turns a plot's path
(or None when there was nothing to plot) into an image or a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    # stats are the ledger's own counts (report.data replays it), so every key is there
    stats = run.stats or {}
    return [
        html.table(["", "value"], _run_facts(run, stats)),
        img(
            plots.accepted_per_round(
                stats.get("accepted_per_round") or [], images / "accepted_per_round.png"
            ),
            "accepted per round",
            "No accepted examples to plot per round.",
        ),
        img(
            plots.rejections(stats.get("rejections") or {}, images / "rejections.png"),
            "rejections by reason",
            "No rejections recorded.",
        ),
        *_question_plots(run, images, img),
        *_usage(stats.get("usage") or {}, images, img),
    ]


def _run_facts(run: RunData, stats: dict[str, Any]) -> list[tuple[str, Any]]:
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
    return [row for row in rows if row[1] is not None]


def _window(table: dict[str, Any], low: str, high: str) -> tuple[Any, Any] | None:
    return (table[low], table[high]) if low in table and high in table else None


def _question_plots(run: RunData, images: Path, img) -> list[str]:
    """The Judge's scores, the hops and the novelty of the questions, accepted or not."""
    acceptance = run.config.get("acceptance", {})
    verdicts = [
        (c.verdict.model_dump(), c.accepted) for c in run.candidates if c.verdict is not None
    ]
    questions = [(c.question, c.accepted) for c in run.candidates if c.question is not None]
    similarities = [c.novelty.similarity for c in run.candidates if c.novelty is not None]
    novelty = run.config.get("novelty", {})
    thresholds = {
        k: novelty[k] for k in ("duplicate_threshold", "contamination_threshold") if k in novelty
    }
    hops = (
        [q.hops for q, _ in questions],
        [q.hops for q, ok in questions if ok],
        images / "hops.png",
        _window(acceptance, "hops_min", "hops_max"),
    )
    return [
        img(
            plots.judge_scores(
                verdicts,
                images / "judge_scores.png",
                _window(acceptance, "quality_min", "quality_max"),
            ),
            "judge score distributions",
            "No judge verdicts recorded.",
        ),
        img(plots.hops(*hops), "hop distribution", "No questions recorded."),
        img(
            plots.novelty(similarities, images / "novelty.png", thresholds),
            "novelty similarities",
            "No novelty checks recorded.",
        ),
    ]


def _usage(usage: dict[str, Any], images: Path, img) -> list[str]:
    blocks = [
        img(
            plots.tokens_per_role(usage, images / "tokens_per_role.png"),
            "tokens per role",
            "No token usage recorded.",
        )
    ]
    if usage:
        columns = ("calls", "failed_calls", "prompt_tokens", "completion_tokens", "seconds")
        blocks.append(
            html.table(
                ["role", "calls", "failed", "prompt tokens", "completion tokens", "seconds"],
                [(role, *(u.get(k) for k in columns)) for role, u in usage.items()],
            )
        )
    return blocks


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


def results_section(pipeline: dict[str, Any], images: Path, img) -> list[str]:
    """A pipeline's models side by side: accuracy with intervals and validity, the paired
    comparisons, each training's compute (pipeline.json, as results.md has it)."""
    from .results import VALIDITY_SHARES

    models = list(pipeline["models"].values())
    bars = [(m["name"], m["accuracy"], tuple(m["ci95"])) for m in models]
    title = f"Accuracy on the same {models[0]['n']} items" if models else "Accuracy"
    rows = []
    for m in models:
        validity = m.get("validity") or {}
        training = m.get("training") or {}
        rows.append(
            (
                m["name"],
                m["accuracy"],
                f"[{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]",
                *(validity.get(key) for key, _ in VALIDITY_SHARES),
                "; ".join(validity.get("warnings") or []) or "ok",
                training.get("examples"),
                training.get("tokens_seen"),
                training.get("seconds"),
                m["spec"],
            )
        )
    headers = ["model", "accuracy", "95% CI"] + [title for _, title in VALIDITY_SHARES]
    headers += ["validity", "trained on", "training tokens", "training seconds", "spec"]
    return [
        img(plots.accuracy(bars, images / "results.png", title), "results", "No models."),
        html.table(headers, rows),
        html.paragraph(
            "Shares of replies with no readable answer, cut off by the token budget, and "
            "giving the most common answer: a tuned model that broke the answer format shows "
            "it here, so a gain or a loss is about reasoning, not format."
        ),
    ]


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
        ),
        _accuracy_table(labelled),
    ]
    if data.comparisons:
        blocks.append(
            html.paragraph(
                "Paired comparisons on the same items: exact McNemar test on the discordant items; "
                "the interval of the difference is a paired bootstrap."
            )
        )
        blocks.append(_comparison_table(data.comparisons))
    return blocks


def _accuracy_table(labelled: list[tuple[str, dict[str, Any]]]) -> str:
    headers = ["evaluation", "model", "benchmark", "protocol", "n", "correct", "accuracy"]
    headers += ["95% CI", "failures", "valid"]
    rows = []
    for label, s in labelled:
        validity = s.get("validity") or {}
        rows.append(
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
                "; ".join(validity.get("warnings") or []) or ("yes" if validity else None),
            )
        )
    return html.table(headers, rows)


def _comparison_table(comparisons: list[dict[str, Any]]) -> str:
    headers = ["model", "baseline", "n", "accuracy", "baseline accuracy", "delta"]
    headers += ["delta 95% CI", "model only right", "baseline only right"]
    headers += ["McNemar p", "bootstrap p"]
    rows = []
    for c in comparisons:
        interval = c.get("delta_ci95")
        rows.append(
            (
                c.get("model"),
                c.get("baseline"),
                c.get("n"),
                c.get("accuracy"),
                c.get("baseline_accuracy"),
                c.get("delta"),
                f"[{interval[0]:+.3f}, {interval[1]:+.3f}]" if interval else None,
                c.get("model_only"),
                c.get("baseline_only"),
                c.get("p_value"),
                c.get("p_value_bootstrap"),
            )
        )
    return html.table(headers, rows)


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
