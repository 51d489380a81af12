"""A pipeline's results as Markdown tables: results.md, and what ``nanoflux report`` prints.

One table per question: how accurate each model is (with its interval and the validity
flags that say whether the number measures reasoning or a format failure), how two models
differ on the same items (paired tests), and what each training cost.
"""

from __future__ import annotations

from typing import Any

VALIDITY_SHARES = (
    ("malformed_share", "no answer"),
    ("truncated_share", "cut off"),
    ("identical_share", "same answer"),
)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else str(value)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _validity(row: dict[str, Any]) -> list[str]:
    validity = row.get("validity") or {}
    cells = [_share(validity.get(key)) for key, _ in VALIDITY_SHARES]
    warnings = validity.get("warnings") or []
    cells.append("DEGENERATE: " + "; ".join(warnings) if warnings else "ok")
    return cells


def accuracy_table(models: dict[str, dict[str, Any]]) -> str:
    headers = ["model", "accuracy", "95% CI (Wilson)", "correct"]
    headers += [title for _, title in VALIDITY_SHARES] + ["validity"]
    rows = []
    for row in models.values():
        low, high = row["ci95"]
        rows.append(
            [
                row["name"],
                f"{row['accuracy']:.1%}",
                f"[{low:.1%}, {high:.1%}]",
                f"{row['correct']}/{row['n']}",
                *_validity(row),
            ]
        )
    return _table(headers, rows)


def comparison_table(comparisons: list[dict[str, Any]]) -> str:
    headers = ["comparison", "difference", "95% CI (paired bootstrap)", "only model right"]
    headers += ["only baseline right", "McNemar exact p", "bootstrap p"]
    rows = []
    for c in comparisons:
        low, high = c["delta_ci95"]
        rows.append(
            [
                c.get("title") or c.get("label") or f"{c['model']} vs {c['baseline']}",
                f"{c['delta']:+.1%}",
                f"[{low:+.1%}, {high:+.1%}]",
                str(c["model_only"]),
                str(c["baseline_only"]),
                f"{c['p_value']:.3g}",
                f"{c['p_value_bootstrap']:.3g}",
            ]
        )
    return _table(headers, rows)


def compute_table(summary: dict[str, Any]) -> str:
    """Each training's measured tokens and wall time, and each over nanoflux-N's."""
    models = summary.get("models") or {}
    tuned = (models.get("tuned") or {}).get("training") or {}
    headers = ["model", "trained on", "training tokens", "training time (s)", "tokens ÷ tuned"]
    headers += ["time ÷ tuned", "adapter (load as)"]
    rows = []
    for row in models.values():
        training = row.get("training")
        if not training:
            continue
        tokens, seconds = training.get("tokens_seen"), training.get("seconds")
        rows.append(
            [
                row["name"],
                f"{training['examples']} examples, {training['steps']} steps",
                _number(tokens),
                _number(seconds, 1),
                _ratio(tokens, tuned.get("tokens_seen")),
                _ratio(seconds, tuned.get("seconds")),
                f"`{row['spec']}`",
            ]
        )
    return _table(headers, rows)


def _ratio(value: float | None, unit: float | None) -> str:
    return f"{value / unit:.2f}x" if value is not None and unit else ""


def generation_line(summary: dict[str, Any]) -> str:
    compute = summary.get("compute") or {}
    generation = compute.get("generation") or {}
    run = summary.get("run") or {}
    text = (
        f"Generation (nanoflux-N's examples, not counted above): {run.get('accepted')} accepted "
        f"of {run.get('attempts')} attempts, {_number(generation.get('tokens'))} model tokens, "
        f"{_number(generation.get('seconds'), 0)} s."
    )
    full = compute.get("baseline_train") or {}
    if full.get("split_items"):
        text += (
            f" full trained on a random part of its split; the whole split "
            f"({full['split_items']:,} items) would take about "
            f"{_number(full['tokens_whole_split_estimate'])} tokens and "
            f"{_number(full['seconds_whole_split_estimate'], 0)} s at the rate measured."
        )
    return text


def results_markdown(summary: dict[str, Any]) -> str:
    """results.md: the protocol, then the accuracy, comparison and compute tables."""
    protocol = summary.get("protocol") or {}
    models = summary.get("models") or {}
    first = next(iter(models.values()), {})
    parts = ["# Results", ""]
    parts.append(
        f"Every model answered the same {first.get('n', '?')} items under protocol "
        f"{protocol.get('name', '?')} (greedy, {protocol.get('max_tokens', '?')} tokens)."
    )
    parts += ["", "## Accuracy", "", accuracy_table(models), ""]
    if summary.get("comparisons"):
        parts += ["## Paired comparisons", "", comparison_table(summary["comparisons"]), ""]
    parts += ["## Training compute", "", compute_table(summary), "", generation_line(summary), ""]
    return "\n".join(parts)
