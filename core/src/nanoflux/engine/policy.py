"""The acceptance policy: which verified rounds become dataset examples, and why not.

:func:`decide` is the policy. The round asks its parts early (:func:`question_fault`,
:func:`verification_fault`, :func:`defender_fault`) so that a question the policy would
reject anyway costs no further model call; the same functions decide at the end, so an
early rejection and a late one cannot disagree.
"""

from __future__ import annotations

from ..config import Acceptance
from ..novelty import NoveltyDecision
from ..records import Question, Verdict


def question_fault(acceptance: Acceptance, question: Question) -> str | None:
    """What the question alone already fails (its declared number of steps)."""
    if not acceptance.hops_min <= question.hops <= acceptance.hops_max:
        return "hops_out_of_band"
    return None


def safety_fault(acceptance: Acceptance, screened_safe: bool | None) -> str | None:
    """A safety screen found the content unsafe: the verdict's safety would be 1."""
    if screened_safe is False and acceptance.min_safety > 1:
        return "unsafe"
    return None


def verification_fault(acceptance: Acceptance, tools_verdict: bool | None) -> str | None:
    """Rejects on the tools' word alone: they contradict the reference, or are silent
    where the policy demands a tool's confirmation. Silence otherwise leaves it to the judge.
    """
    if not acceptance.require_verified:
        return None
    if tools_verdict is False or (tools_verdict is None and acceptance.require_tool_verification):
        return "unverified"
    return None


def defender_fault(
    acceptance: Acceptance, defender_correct: bool, pass_rate: float | None
) -> str | None:
    """The Defender solved it: its first answer, or more than the allowed share of k."""
    if not acceptance.require_defender_wrong:
        return None
    if defender_correct:
        return "defender_correct"
    if pass_rate is not None and pass_rate > acceptance.max_pass_rate:
        return "defender_pass_rate"
    return None


def solve_fault(
    acceptance: Acceptance, judge_agrees: bool | None, *, required: bool = False
) -> str | None:
    """The Judge, solving the question blind, does not reach the reference. ``required``:
    code-first, where the solve is the worked solution, whatever the policy says."""
    if (acceptance.require_independent_solve or required) and judge_agrees is False:
        return "judge_disagrees"
    return None


def decide(
    acceptance: Acceptance,
    question: Question,
    verdict: Verdict,
    novelty: NoveltyDecision | None,
    *,
    pass_rate: float | None = None,
    judge_agrees: bool | None = None,
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
    fault = (
        defender_fault(acceptance, verdict.defender_correct, pass_rate)
        or question_fault(acceptance, question)
        or solve_fault(acceptance, judge_agrees)
    )
    if fault:
        return fault
    if acceptance.require_real_hops and not verdict.hops_real:
        return "hops_not_real"
    if acceptance.reject_inconsistent and verdict.inconsistent:
        return "judge_inconsistent"
    if not acceptance.quality_min <= verdict.reasoning_quality <= acceptance.quality_max:
        return "quality_out_of_band"
    return "accepted"
