"""The acceptance policy: which attempts become dataset examples, and why not.

Every outcome of an attempt is a :class:`~nanoflux.records.Reason` returned by a function
of this module, and by no other: the round asks the parts early (the screens, the
tools, the Defender, the blind solve) so that a question the policy would reject anyway
costs no further model call; :func:`decide` asks the same functions at the end, so an
early rejection and a late one cannot disagree.
"""

from __future__ import annotations

from ..config import Acceptance
from ..novelty import NoveltyDecision
from ..records import Question, Reason, Verdict
from .profile import WRONG_ANSWER_LABEL


def normalized(text: str) -> str:
    """Text compared as the copy check compares it: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


def copy_fault(
    question: Question, shown: str, seed_text: str = "", reworked: Question | None = None
) -> Reason | None:
    """The question is not new: small models copy the prompt's example or seed (whole,
    with lines of their own added), or hand back the question they were asked to rework.
    ``shown`` is what the Attacker could copy; ``seed_text`` the seed's normalized text;
    ``reworked`` the question a follow-up turn reworks (a repair may keep its text, not
    the whole question: handed back unchanged it would only be rejected again)."""
    text = normalized(question.text)
    if (
        text in normalized(shown)
        or (seed_text and seed_text in text)
        or WRONG_ANSWER_LABEL.strip("| ") in question.text.lower()
        or (reworked is not None and _same_question(question, reworked))
    ):
        return Reason.COPIED_PROMPT
    return None


def _same_question(question: Question, other: Question) -> bool:
    return normalized(question.text) == normalized(other.text) and (
        question.program,
        question.reference_answer,
        question.solution_steps,
    ) == (other.program, other.reference_answer, other.solution_steps)


def question_fault(acceptance: Acceptance, question: Question) -> Reason | None:
    """What the question alone already fails (its declared number of steps)."""
    if not acceptance.hops_min <= question.hops <= acceptance.hops_max:
        return Reason.HOPS_OUT_OF_BAND
    return None


def screen_fault(problems: list[str]) -> Reason | None:
    """The domain's screen found the question ill-posed (a number it never states, an
    answer that does not come out even)."""
    return Reason.ILL_POSED if problems else None


def novelty_fault(
    novelty: NoveltyDecision | None, repeated: float = 0.0, threshold: float = 1.0
) -> Reason | None:
    """Too close to an accepted or protected question, or (``repeated``, the highest
    similarity to a question this run rejected) to one already rejected."""
    if novelty is not None and novelty.verdict != "novel":
        return Reason(novelty.verdict)  # duplicate | contaminated
    if repeated >= threshold:
        return Reason.REPEATS_REJECTED
    return None


def safety_fault(acceptance: Acceptance, screened_safe: bool | None) -> Reason | None:
    """A safety screen found the content unsafe: the verdict's safety would be 1."""
    if screened_safe is False and acceptance.min_safety > 1:
        return Reason.UNSAFE
    return None


def verification_fault(acceptance: Acceptance, tools_verdict: bool | None) -> Reason | None:
    """Rejects on the tools' word alone: they contradict the reference, or are silent
    where the policy demands a tool's confirmation. Silence otherwise leaves it to the judge.
    """
    if not acceptance.require_verified:
        return None
    if tools_verdict is False or (tools_verdict is None and acceptance.require_tool_verification):
        return Reason.UNVERIFIED
    return None


def program_fault() -> Reason:
    """A code-first program gave no answer: there is no reference to verify."""
    return Reason.UNVERIFIED


def defender_fault(
    acceptance: Acceptance, defender_correct: bool, pass_rate: float | None
) -> Reason | None:
    """The Defender solved it: its first answer, or more than the allowed share of k."""
    if not acceptance.require_defender_wrong:
        return None
    if defender_correct:
        return Reason.DEFENDER_CORRECT
    if pass_rate is not None and pass_rate > acceptance.max_pass_rate:
        return Reason.DEFENDER_PASS_RATE
    return None


def parroted(defender_correct: bool, copied: bool) -> Reason | None:
    """Wrong because it parroted its prompt, not on its own merit: no use as a lesson."""
    return Reason.COPIED_PROMPT if not defender_correct and copied else None


def solve_fault(
    acceptance: Acceptance, judge_agrees: bool | None, *, required: bool = False
) -> Reason | None:
    """The Judge, solving the question blind, does not reach the reference. ``required``:
    code-first, where the solve is the worked solution, whatever the policy says."""
    if (acceptance.require_independent_solve or required) and judge_agrees is False:
        return Reason.JUDGE_DISAGREES
    return None


def failure_reason(reason: str) -> Reason:
    """A role that produced no record (its reply unreadable, its backend down)."""
    try:
        return Reason(reason)
    except ValueError:
        return Reason.ERROR


def decide(
    acceptance: Acceptance,
    question: Question,
    verdict: Verdict,
    novelty: NoveltyDecision | None,
    *,
    pass_rate: float | None = None,
    judge_agrees: bool | None = None,
    already_accepted: bool = False,
    target_reached: bool = False,
) -> Reason:
    """:attr:`Reason.ACCEPTED` or the first reason to reject, checked in a fixed order.
    ``already_accepted``: the same example is in the dataset; ``target_reached``: the
    dataset is full."""
    reason = (
        novelty_fault(novelty)
        or _rubric_fault(acceptance, question, verdict, pass_rate, judge_agrees)
        or (Reason.DUPLICATE if already_accepted else None)
        or (Reason.TARGET_REACHED if target_reached else None)
    )
    return reason or Reason.ACCEPTED


def _rubric_fault(
    acceptance: Acceptance,
    question: Question,
    verdict: Verdict,
    pass_rate: float | None,
    judge_agrees: bool | None,
) -> Reason | None:
    if verdict.safety < acceptance.min_safety:
        return Reason.UNSAFE
    if acceptance.require_verified and (
        not verdict.reference_verified
        or (acceptance.require_tool_verification and verdict.verified_by != "tools")
    ):
        return Reason.UNVERIFIED
    fault = (
        defender_fault(acceptance, verdict.defender_correct, pass_rate)
        or question_fault(acceptance, question)
        or solve_fault(acceptance, judge_agrees)
    )
    if fault:
        return fault
    if acceptance.require_real_hops and not verdict.hops_real:
        return Reason.HOPS_NOT_REAL
    if acceptance.reject_inconsistent and verdict.inconsistent:
        return Reason.JUDGE_INCONSISTENT
    if not acceptance.quality_min <= verdict.reasoning_quality <= acceptance.quality_max:
        return Reason.QUALITY_OUT_OF_BAND
    return None
