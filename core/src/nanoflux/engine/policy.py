"""The acceptance policy: which verified rounds become dataset examples, and why not."""

from __future__ import annotations

from ..config import Acceptance
from ..novelty import NoveltyDecision
from ..records import Question, Verdict


def decide(
    acceptance: Acceptance,
    question: Question,
    verdict: Verdict,
    novelty: NoveltyDecision | None,
) -> str:
    """``"accepted"`` or the first reason to reject, checked in a fixed order."""
    if novelty is not None and novelty.verdict != "novel":
        return novelty.verdict  # duplicate | contaminated
    if verdict.safety < acceptance.min_safety:
        return "unsafe"
    if acceptance.require_verified and (
        not verdict.reference_verified
        or (acceptance.require_tool_verification and verdict.verified_by != "tools")
    ):
        return "unverified"
    if acceptance.require_defender_wrong and verdict.defender_correct:
        return "defender_correct"
    if not acceptance.hops_min <= question.hops <= acceptance.hops_max:
        return "hops_out_of_band"
    if acceptance.require_real_hops and not verdict.hops_real:
        return "hops_not_real"
    if not acceptance.quality_min <= verdict.reasoning_quality <= acceptance.quality_max:
        return "quality_out_of_band"
    return "accepted"
