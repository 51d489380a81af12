"""Validity flags: does a result measure the model, or a parrot or a format failure?

A harness that scores every reply "7" (the value of a format example) or that cannot
read the replies reports a number that says nothing about reasoning. Every result
carries these shares, and ``nanoflux eval`` warns loudly when one crosses its limit.
"""

from __future__ import annotations

from collections import Counter

from .records import ItemResult, Validity

IDENTICAL_LIMIT = 0.5  # more than half the items answered with one value
MALFORMED_LIMIT = 0.2
COPIED_LIMIT = 0.2
MIN_ITEMS = 10  # below this, shares are too coarse to call a result degenerate


def _no_reasoning(result: ItemResult) -> bool:
    """Answered without a single step: what a format that lets a model skip its reasoning
    measures is answering without chain of thought."""
    if result.prediction is None:
        return False
    steps = result.reasoning.strip()
    if result.extraction != "json":  # a free-text reply: drop the line that gives the answer
        steps = "\n".join(steps.splitlines()[:-1]).strip()
    return not steps


def validity(results: list[ItemResult]) -> Validity:
    n = len(results)
    if n == 0:
        return Validity(
            identical_share=0.0,
            malformed_share=0.0,
            copied_share=0.0,
            fallback_share=0.0,
            truncated_share=0.0,
            degenerate=False,
        )
    counts = Counter(r.prediction.strip().casefold() for r in results if r.prediction is not None)
    most_common, top = counts.most_common(1)[0] if counts else (None, 0)
    shares = {
        "identical_share": top / n,
        "malformed_share": sum(r.cause == "malformed_output" for r in results) / n,
        "copied_share": sum(r.copied_prompt for r in results) / n,
        "fallback_share": sum(r.extraction in ("last_number", "last_choice") for r in results) / n,
        "truncated_share": sum(r.finish_reason == "length" for r in results) / n,
        "no_reasoning_share": sum(_no_reasoning(r) for r in results) / n,
    }
    warnings = []
    if n >= MIN_ITEMS:
        if shares["identical_share"] > IDENTICAL_LIMIT:
            warnings.append(
                f"{shares['identical_share']:.0%} of the predictions are the same value "
                f"({most_common!r}): the model may be parroting"
            )
        if shares["malformed_share"] > MALFORMED_LIMIT:
            warnings.append(
                f"{shares['malformed_share']:.0%} of the replies hold no readable answer: "
                "this measures the answer format, not the model"
            )
        if shares["copied_share"] > COPIED_LIMIT:
            warnings.append(
                f"{shares['copied_share']:.0%} of the answers repeat an answer shown in the prompt"
            )
    return Validity(most_common=most_common, degenerate=bool(warnings), warnings=warnings, **shares)
