"""The stages an attempt goes through, cheapest first; each is a function of the table,
the attempt and the round's :class:`Context`.

A stage that stops the attempt sets ``attempt.reason`` to what the policy says, and may
return the :class:`~.feedback.FollowUp` turn the Attacker gets to mend it. Which stages
run, and in which order, is the attack form's (:mod:`.forms`): a stated question's
tools check it before the Defender sees it; a code-first question's program already
did, and the tools check the blind solve that becomes its solution.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from ..answers import copied_from_prompt
from ..domains import Verification
from ..records import Question, Reason, ToolEvidence
from . import feedback, policy
from .attempt import Attempt
from .feedback import FollowUp
from .solving import blind_solve, defender_answers, defender_prompt
from .table import Table


@dataclass(frozen=True)
class Context:
    """What a stage knows of its round beyond the attempt."""

    attacking: str
    defending: str
    skill: str
    request: str  # what the Attacker is asked this turn
    seed: int  # this attempt's model seed
    shown: str = ""  # what the Attacker could copy: its template, seed, earlier questions
    seed_text: str = ""  # the seed's question, normalized
    reworked: Question | None = None  # the question a follow-up turn reworks

    def next(self, **changes) -> Context:
        return replace(self, **changes)


Stage = Callable[[Table, Attempt, Context], Awaitable[FollowUp | None]]


async def settle(
    table: Table, attempt: Attempt, context: Context, stages: tuple[Stage, ...]
) -> FollowUp | None:
    """Run ``stages`` until one stops the attempt or the Judge has scored it."""
    for stage in stages:
        follow_up = await stage(table, attempt, context)
        if attempt.reason is not None:
            return follow_up
    return None


async def screens(table: Table, attempt: Attempt, context: Context) -> FollowUp | None:
    """The free checks: a copy (as written, and as completed), steps out of band, the
    domain's own screen (after the domain has written in what the program decides,
    :meth:`Domain.complete`)."""
    written = attempt.question
    attempt.question, completed = table.domain.complete(written)
    if completed:  # after what the program wrote into the options, if anything
        attempt.findings.completed = [*attempt.findings.completed, *completed]
    question, acceptance = attempt.question, table.config.acceptance
    attempt.reason = (
        policy.copy_fault(written, context.shown, context.seed_text, context.reworked)
        or policy.copy_fault(question, context.shown, context.seed_text, context.reworked)
        or policy.question_fault(acceptance, question)
    )
    if attempt.reason is Reason.HOPS_OUT_OF_BAND and question.hops < acceptance.hops_min:
        return feedback.more_steps(question.hops, acceptance.hops_min)
    if attempt.reason:
        return None
    problems = table.domain.screen(question)
    attempt.reason = policy.screen_fault(problems)
    if attempt.reason:
        attempt.findings.problems = problems
        return feedback.repair_screen(problems)
    return None


async def novelty(table: Table, attempt: Attempt, context: Context) -> FollowUp | None:
    """The novelty gate (an embedding), and this run's memory of rejected questions."""
    gate = table.gate
    if gate is None:
        return None
    attempt.vector = await asyncio.to_thread(gate.embed, attempt.question.text)
    attempt.novelty = await asyncio.to_thread(gate.check, attempt.vector)
    repeated = gate.repeats_rejected(attempt.vector) if attempt.novelty.verdict == "novel" else 0
    attempt.reason = policy.novelty_fault(attempt.novelty, repeated, gate.duplicate_threshold)
    if attempt.reason is Reason.REPEATS_REJECTED:
        attempt.findings.rejected_similarity = round(repeated, 4)
    return None


async def verify_reference(table: Table, attempt: Attempt, context: Context) -> FollowUp | None:
    """The tools check a stated reference before the Defender sees the question; an
    unverified one gets the repair turn, an unsafe one never does."""
    verification = await table.judge.verify(attempt.question)
    if _tools_reject(table, attempt, verification) and attempt.reason is Reason.UNVERIFIED:
        return feedback.repair_unverified(attempt.question, verification)
    return None


async def verify_solution(table: Table, attempt: Attempt, context: Context) -> FollowUp | None:
    """The tools check the question with the solution the example teaches, reusing the
    program's run that gave the reference."""
    known: list[ToolEvidence] = [attempt.program_run] if attempt.program_run else []
    _tools_reject(table, attempt, await table.judge.verify(attempt.question, known))
    return None


def _tools_reject(table: Table, attempt: Attempt, verification: Verification) -> bool:
    """Record the tools' verdict; True (with the reason set) when it alone rejects."""
    acceptance = table.config.acceptance
    attempt.verification = verification
    attempt.findings.tools_verdict = verification.verified
    attempt.reason = policy.safety_fault(acceptance, verification.safe) or (
        policy.verification_fault(acceptance, verification.verified)
    )
    if attempt.reason:
        # No verdict will carry the evidence: keep it on the attempt's record.
        attempt.findings.evidence = list(verification.evidence)
    return attempt.reason is not None


async def defend(table: Table, attempt: Attempt, context: Context) -> FollowUp | None:
    """The Defender answers (``rounds.defender_samples`` times; the pass rate is kept).
    A question it solves gets the "harder" turn."""
    question = attempt.question
    answers = await defender_answers(
        table, context.defending, question, attempt.usage["defender"], context.seed + 1
    )
    attempt.answer = answers[0]
    checks = [
        table.domain.check_answer(
            question.reference_answer, a.final_answer, choices=question.choices
        )
        for a in answers
    ]
    pass_rate = sum(checks) / len(checks)
    findings = attempt.findings
    findings.defender_correct, findings.pass_rate = checks[0], round(pass_rate, 4)
    if len(answers) > 1:
        findings.defender_answers = [a.final_answer for a in answers]
    copied = not checks[0] and copied_from_prompt(
        attempt.answer.final_answer, defender_prompt(table, question), question=question.text
    )
    attempt.reason = policy.parroted(checks[0], copied)
    if attempt.reason:
        return None
    sampled = pass_rate if len(answers) > 1 else None
    attempt.reason = policy.defender_fault(table.config.acceptance, checks[0], sampled)
    return feedback.harder(attempt.answer) if attempt.reason else None


async def solve_blind(table: Table, attempt: Attempt, context: Context) -> FollowUp | None:
    """The Judge solves the question blind, as the Defender did: a reference that a
    program and steps share can still misread the problem; a fresh solve that reaches it
    is evidence they did not. The form says whether it is required and what the solve
    becomes (code-first: the example's solution)."""
    acceptance, form, question = table.config.acceptance, table.form, attempt.question
    if not (acceptance.require_independent_solve or form.solve_required):
        return None
    solved = await blind_solve(table, question, attempt.usage["judge"], context.seed + 3)
    agrees = table.domain.check_answer(
        question.reference_answer, solved.final_answer, choices=question.choices
    )
    attempt.findings.judge_answer, attempt.findings.judge_agrees = solved.final_answer, agrees
    attempt.reason = policy.solve_fault(acceptance, agrees, required=form.solve_required)
    if not agrees:
        attempt.findings.judge_solution = solved.reasoning
    if attempt.reason:
        # The repair turn. The Attacker is shown neither answer, so a repaired question
        # that the next blind solve reaches is still reached blind.
        return form.disagreement()
    attempt.question = form.solved(question, solved)
    return None


async def score(table: Table, attempt: Attempt, context: Context) -> FollowUp | None:
    """Only now the Judge's rubric."""
    attempt.verdict = await table.judge.score(
        attempt.question,
        attempt.answer,
        attempt.verification,
        usage=attempt.usage["judge"],
        seed=context.seed + 2,
    )
    return None
