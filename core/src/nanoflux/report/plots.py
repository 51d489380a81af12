"""The report's figures, each a PNG written with matplotlib's Agg canvas.

Every function takes what it plots and a path, returns the path when it drew
something and None when there was nothing to draw. Figures are built with
``matplotlib.figure.Figure`` (no pyplot state, no GUI backend).
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

from ..storage import ensure_real_dir, write_atomic

LEVEL_BANDS = (
    ("L1", 1.0, 1.5),
    ("L2", 1.5, 2.5),
    ("L3", 2.5, 3.5),
    ("L4", 3.5, 4.5),
    ("L5", 4.5, 5.0),
)
BAND_COLOURS = ("#fde0dd", "#fcc5c0", "#fa9fb5", "#c994c7", "#9ebcda")
ACCEPTED = "#2b8cbe"
OTHER = "#bdbdbd"


def _figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _integers():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _save(figure, path: Path) -> Path:
    """Render to memory, then replace ``path`` (a link there is replaced, not followed)."""
    png = io.BytesIO()
    figure.savefig(png, format="png")
    ensure_real_dir(path.parent)
    write_atomic(path, png.getvalue())
    return path


def accepted_per_round(points: list[list[int]], path: Path) -> Path | None:
    if not points:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    rounds, accepted = zip(*points, strict=True)
    axes.step([0, *rounds], [0, *accepted], where="post", color=ACCEPTED)
    axes.set_xlabel("round")
    axes.set_ylabel("accepted (cumulative)")
    axes.set_title("Accepted examples per round")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def rejections(counts: dict[str, int], path: Path) -> Path | None:
    if not counts:
        return None
    items = sorted(counts.items(), key=lambda kv: kv[1])
    figure = _figure(height=max(2.4, 0.4 * len(items) + 1))
    axes = figure.add_subplot()
    axes.barh([k for k, _ in items], [v for _, v in items], color="#e34a33")
    axes.set_xlabel("attempts")
    axes.xaxis.set_major_locator(_integers())
    axes.set_title("Rejections and failures by reason")
    for i, (_, value) in enumerate(items):
        axes.text(value, i, f" {value}", va="center")
    return _save(figure, path)


def judge_scores(
    verdicts: list[tuple[dict[str, Any], bool]], path: Path, window: tuple[float, float] | None
) -> Path | None:
    """Reasoning-quality histogram over the L1-L5 bands, and coherence/safety counts."""
    if not verdicts:
        return None
    figure = _figure(10, 3.8)
    left, right = figure.subplots(1, 2, width_ratios=[3, 2])
    for (name, low, high), colour in zip(LEVEL_BANDS, BAND_COLOURS, strict=True):
        left.axvspan(low, high, color=colour, alpha=0.5, lw=0)
        left.text(
            (low + high) / 2,
            1.0,
            name,
            transform=left.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    bins = [1 + 0.25 * i for i in range(17)]
    everything = [v["reasoning_quality"] for v, _ in verdicts]
    accepted = [v["reasoning_quality"] for v, ok in verdicts if ok]
    left.hist(everything, bins=bins, color=OTHER, label="judged", edgecolor="white")
    if accepted:
        left.hist(accepted, bins=bins, color=ACCEPTED, label="accepted", edgecolor="white")
    if window:
        for x in window:
            left.axvline(x, color="black", ls="--", lw=1)
    left.set_xlim(1, 5)
    left.set_xlabel("reasoning quality (judge)")
    left.set_ylabel("candidates")
    left.yaxis.set_major_locator(_integers())
    right.yaxis.set_major_locator(_integers())
    left.legend(loc="upper left")
    width = 0.4
    for offset, key, colour in (
        (-width / 2, "coherence", "#31a354"),
        (width / 2, "safety", "#756bb1"),
    ):
        counts = Counter(int(v[key]) for v, _ in verdicts if v.get(key) is not None)
        right.bar(
            [s + offset for s in range(1, 6)],
            [counts.get(s, 0) for s in range(1, 6)],
            width=width,
            color=colour,
            label=key,
        )
    right.set_xticks(range(1, 6))
    right.set_xlabel("score")
    right.legend()
    figure.suptitle("Judge scores (bands L1-L5; dashed: acceptance window)")
    return _save(figure, path)


def hops(
    all_hops: list[int], accepted_hops: list[int], path: Path, window: tuple[int, int] | None
) -> Path | None:
    if not all_hops:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    values = range(min(all_hops), max(all_hops) + 1)
    every, kept = Counter(all_hops), Counter(accepted_hops)
    if window:
        axes.axvspan(
            window[0] - 0.5,
            window[1] + 0.5,
            color="#ffffb2",
            alpha=0.6,
            lw=0,
            label="allowed",
            zorder=0,
        )
        values = range(min(values.start, window[0]), max(values.stop, window[1] + 1))
    axes.bar(
        [v - 0.2 for v in values],
        [every.get(v, 0) for v in values],
        0.4,
        color=OTHER,
        label="written",
        zorder=2,
    )
    axes.bar(
        [v + 0.2 for v in values],
        [kept.get(v, 0) for v in values],
        0.4,
        color=ACCEPTED,
        label="accepted",
        zorder=2,
    )
    axes.set_xticks(list(values))
    axes.yaxis.set_major_locator(_integers())
    axes.set_xlabel("declared hops")
    axes.set_ylabel("questions")
    axes.set_title("Hop distribution")
    axes.legend()
    return _save(figure, path)


def novelty(similarities: list[float], path: Path, thresholds: dict[str, float]) -> Path | None:
    if not similarities:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    axes.hist(
        similarities,
        bins=20,
        range=(min(0.0, min(similarities)), 1.0),
        color="#fdae6b",
        edgecolor="white",
    )
    styles = {"duplicate_threshold": "--", "contamination_threshold": ":"}
    for key, value in thresholds.items():
        axes.axvline(
            value,
            color="black",
            ls=styles.get(key, "-"),
            lw=1,
            label=key.replace("_", " ") + f" {value:g}",
        )
    axes.set_xlabel("cosine similarity to the nearest stored question")
    axes.set_ylabel("questions")
    axes.yaxis.set_major_locator(_integers())
    axes.set_title("Novelty")
    if thresholds:
        axes.legend()
    return _save(figure, path)


def tokens_per_role(usage: dict[str, dict[str, Any]], path: Path) -> Path | None:
    roles = [r for r in ("attacker", "defender", "judge") if r in usage] or sorted(usage)
    if not roles:
        return None
    prompt = [usage[r].get("prompt_tokens", 0) for r in roles]
    completion = [usage[r].get("completion_tokens", 0) for r in roles]
    if not any(prompt) and not any(completion):
        return None
    figure = _figure()
    axes = figure.add_subplot()
    axes.bar(roles, prompt, color="#9ecae1", label="prompt")
    axes.bar(roles, completion, bottom=prompt, color="#3182bd", label="completion")
    axes.set_ylabel("tokens")
    axes.set_title("Tokens per role")
    axes.legend()
    return _save(figure, path)


def loss_curves(curves: dict[str, list[dict[str, Any]]], path: Path) -> Path | None:
    curves = {name: rows for name, rows in curves.items() if rows}
    if not curves:
        return None
    figure = _figure(9, 3.6)
    by_step, by_tokens = figure.subplots(1, 2)
    for name, rows in curves.items():
        by_step.plot([r["step"] for r in rows], [r["loss"] for r in rows], label=name)
        by_tokens.plot(
            [r.get("tokens_seen", 0) for r in rows], [r["loss"] for r in rows], label=name
        )
    by_step.set_xlabel("optimizer step")
    by_tokens.set_xlabel("tokens seen")
    by_tokens.set_xscale("symlog")
    for axes in (by_step, by_tokens):
        axes.set_ylabel("training loss")
        axes.grid(alpha=0.3)
    by_step.legend(fontsize=8)
    figure.suptitle("Training loss (assistant tokens)")
    return _save(figure, path)


def accuracy(
    rows: list[tuple[str, float, tuple[float, float]]], path: Path, title: str
) -> Path | None:
    """Bars with 95 % Wilson intervals as error bars."""
    if not rows:
        return None
    figure = _figure(max(4.0, 1.4 * len(rows) + 2), 3.8)
    axes = figure.add_subplot()
    names = [r[0] for r in rows]
    values = [r[1] for r in rows]
    errors = [
        [max(0.0, v - lo) for _, v, (lo, _) in rows],
        [max(0.0, hi - v) for _, v, (_, hi) in rows],
    ]
    axes.bar(names, values, yerr=errors, capsize=6, color=ACCEPTED)
    for i, value in enumerate(values):
        axes.text(i, 0.02, f"{value:.3f}", ha="center", va="bottom", fontsize=9, color="white")
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy (95% CI)")
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=15)
    return _save(figure, path)


def ablation(
    rows: list[dict[str, Any]], base: dict[str, Any] | None, path: Path, by: str
) -> Path | None:
    """Accuracy per band with intervals; the base model as a horizontal band."""
    trained = [r for r in rows if r.get("accuracy") is not None]
    if not trained:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    xs = list(range(len(trained)))
    values = [r["accuracy"] for r in trained]
    errors = [
        [v - r["ci95"][0] for v, r in zip(values, trained, strict=True)],
        [r["ci95"][1] - v for v, r in zip(values, trained, strict=True)],
    ]
    axes.errorbar(
        xs, values, yerr=errors, marker="o", capsize=5, color=ACCEPTED, label="tuned on band"
    )
    if base:
        axes.axhline(base["accuracy"], color="black", ls="--", lw=1, label="base model")
        axes.axhspan(base["ci95"][0], base["ci95"][1], color="black", alpha=0.08, lw=0)
    axes.set_xticks(xs, [f"{r['band']}\n(n={r['examples']})" for r in trained])
    axes.set_ylim(0, 1)
    axes.set_xlabel("quality band" if by == "quality" else "hop band")
    axes.set_ylabel("accuracy (95% CI)")
    axes.set_title(f"Ablation by {by}")
    axes.legend()
    return _save(figure, path)
