"""What the Attacker is told when it gets another turn on its question.

A follow-up turn is asked afresh (:func:`follow_up_prompt`): the round's brief, what the
Attacker wrote, and what to change. Each message names what went wrong in terms the
Attacker can act on, and never shows it the Defender's or the Judge's answer to a
question it is asked to repair (a repaired question must still be solved blind).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domains import Verification
from ..kit.evidence import as_text
from ..records import Answer, Question

#: what a follow-up turn's prompt shows the Attacker's reply under (scripted test models
#: key on it)
FOLLOW_UP_MARK = "Earlier you wrote this reply:"


@dataclass
class FollowUp:
    """Another turn the Attacker gets on its last question, and what it is told."""

    turn: str  # "repair" | "harder"
    message: str


def follow_up_prompt(brief: str, reply: str, follow_up: FollowUp, again: str) -> str:
    """A follow-up turn asked afresh: the round's brief (its rules), what the Attacker
    wrote (``reply``, in the form it wrote it), what to change, and how to reply
    (``again``). Asked as the next turn of a conversation, the 1.5B Attacker handed its
    reply back unchanged in 4 of 4 repairs (``bench yield``, seed 0); shown without the
    brief, it forgot the rules (parameters, prose in the text)."""
    return f"{brief}\n\n{FOLLOW_UP_MARK}\n{reply}\n\n{follow_up.message} {again}"


def repair_unverified(question: Question, verification: Verification) -> FollowUp:
    """The reference is not verified. The program is the ground truth: when it ran and
    disagrees, the Attacker is shown its value; the steps must then reach that value with
    their own arithmetic (tools check them too)."""
    program = [
        item
        for item in verification.evidence
        if item.supports_reference is False
        and item.result.ok
        and question.program
        and item.args.get("code") == question.program
    ]
    if program:
        value = as_text(program[0].result.value)
        return FollowUp(
            "repair",
            f"Your program's solution() returns {value}, but your reference_answer is "
            f"{question.reference_answer}. If the program computes what the problem asks, "
            f"redo the solution steps with their arithmetic so that they reach {value}, and "
            f"set reference_answer to {value}; if it does not, fix the program.",
        )
    problems = "; ".join(
        item.note or (item.result.error or "")
        for item in verification.evidence
        if item.supports_reference is not True and (item.note or item.result.error)
    )
    return FollowUp(
        "repair",
        f"Checking your reply found a problem: {problems or 'nothing checks the answer'}. "
        "Fix it: each solution step shows its arithmetic and the last one reaches the "
        "reference answer; the program defines solution() with no parameters, uses only "
        "numbers stated in the problem and returns that same answer.",
    )


def repair_program(detail: str) -> FollowUp:
    """The Attacker's program gave no answer."""
    return FollowUp(
        "repair",
        f"Running your program found a problem: {detail}. Fix the program: solution() "
        "takes no parameters, computes one step per line from the numbers stated in the "
        "problem, and returns the answer as a number.",
    )


def repair_screen(problems: list[str]) -> FollowUp:
    """The domain's screen found the problem ill-posed."""
    return FollowUp(
        "repair",
        f"Checking your problem found: {'; '.join(problems)}. Fix that: rewrite the "
        "problem, and the program where it is at fault.",
    )


def repair_disagreement(checked: str, fix: str) -> FollowUp:
    """A blind solve did not reach ``checked`` (the program's value or the reference);
    ``fix`` says what must hold once it is rewritten."""
    return FollowUp(
        "repair",
        f"A careful solver who read your problem did not reach {checked}. Either the "
        "problem can be read in more than one way, or it does not state everything the "
        "solution uses. Rewrite it so that it states every number and has exactly one "
        f"reading, and make sure {fix}.",
    )


def harder(answer: Answer) -> FollowUp:
    """The Defender solved it."""
    return FollowUp(
        "harder",
        f"The student solved that one (its answer: {answer.final_answer[:80]}). Write a "
        "harder version: keep the problem, change its numbers, and add one or two more "
        "steps at the end that use its result, so that the question asks for a new final "
        "result, and a program that computes the new final result.",
    )


def more_steps(hops: int, hops_min: int) -> FollowUp:
    """Too few steps is too easy: the "harder" turn adds the steps it lacks."""
    steps = f"{hops} calculation step" + ("" if hops == 1 else "s")
    return FollowUp(
        "harder",
        f"That problem takes only {steps}; it needs at least {hops_min}. Write a harder "
        "version: keep the problem, and add steps at the end that use its result, so that "
        "the question asks for a new final result, and a program that computes it.",
    )
