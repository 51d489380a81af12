"""NanoFlux's per-item results against lm-eval's, item by item, and whether the two
accuracies agree within the binomial noise of the item count."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nanoflux.evaluation import (
    ItemResult,
    ModelEval,
    agree_within_noise,
    difference_interval,
    wilson_interval,
)
from nanoflux.records import Record

PRIMARY_FILTER = "flexible-extract"


class Score(Record):
    correct: int
    n: int
    accuracy: float
    ci95: tuple[float, float]


class Disagreement(Record):
    id: str
    reference: str
    nanoflux_prediction: str | None
    nanoflux_correct: bool
    nanoflux_extraction: str | None
    lm_eval_extracted: str
    lm_eval_correct: bool
    same_reply: bool | None = Field(description="None when NanoFlux kept no reply text.")


class CrossCheck(Record):
    model: str
    benchmark: str
    protocol: dict[str, Any]
    n: int
    nanoflux: Score
    lm_eval: dict[str, Score] = Field(description="One score per lm-eval filter.")
    difference_ci95: dict[str, tuple[float, float]] = Field(
        description="NanoFlux minus lm-eval, Newcombe 95 % interval, per filter."
    )
    agree: dict[str, bool] = Field(description="Per filter: the interval holds zero.")
    agree_primary: bool = Field(description=f"Agreement with lm-eval's {PRIMARY_FILTER}.")
    same_replies: int | None = Field(
        default=None, description="Items whose reply text was identical in both harnesses."
    )
    disagreements: dict[str, list[Disagreement]] = Field(default_factory=dict)
    lm_eval_version: str | None = None


def score(correct: int, n: int) -> Score:
    return Score(
        correct=correct, n=n, accuracy=correct / n if n else 0.0, ci95=wilson_interval(correct, n)
    )


def cross_check(
    summary: ModelEval, items: list[ItemResult], lm_eval: dict[str, Any], *, model: str
) -> CrossCheck:
    ours = {item.id: item for item in items}
    by_filter: dict[str, dict[str, dict[str, Any]]] = {}
    for sample in lm_eval["samples"]:
        by_filter.setdefault(sample["filter"], {})[str(sample["id"])] = sample
    n = len(items)
    scores, intervals, agree, disagreements = {}, {}, {}, {}
    same = None
    for name, samples in sorted(by_filter.items()):
        if set(samples) != set(ours):
            raise ValueError(f"lm-eval answered other items than NanoFlux ({name})")
        theirs = sum(s["exact_match"] >= 1 for s in samples.values())
        scores[name] = score(theirs, n)
        intervals[name] = difference_interval(summary.correct, n, theirs, n)
        agree[name] = agree_within_noise(summary.correct, theirs, n)
        if same is None:
            same = sum(
                ours[i].reasoning.strip() == str(s["reply"]).strip() for i, s in samples.items()
            )
        disagreements[name] = [
            Disagreement(
                id=i,
                reference=ours[i].reference,
                nanoflux_prediction=ours[i].prediction,
                nanoflux_correct=ours[i].correct,
                nanoflux_extraction=ours[i].extraction,
                lm_eval_extracted=str(s["extracted"]),
                lm_eval_correct=s["exact_match"] >= 1,
                same_reply=ours[i].reasoning.strip() == str(s["reply"]).strip()
                if ours[i].reasoning
                else None,
            )
            for i, s in samples.items()
            if ours[i].correct != (s["exact_match"] >= 1)
        ]
    return CrossCheck(
        model=model,
        benchmark=summary.benchmark,
        protocol=summary.protocol.model_dump(mode="json") if summary.protocol else {},
        n=n,
        nanoflux=score(summary.correct, n),
        lm_eval=scores,
        difference_ci95=intervals,
        agree=agree,
        agree_primary=agree.get(PRIMARY_FILTER, False),
        same_replies=same,
        disagreements=disagreements,
        lm_eval_version=lm_eval.get("lm_eval_version"),
    )
