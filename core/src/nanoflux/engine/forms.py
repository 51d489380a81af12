"""How an Attacker writes a question, and what checks it in which order.

* :class:`StatedForm`: the Attacker states everything in one JSON object (question,
  steps, reference answer, maybe a program); the tools verify the reference before the
  Defender sees the question.
* :class:`CodeFirstForm` (a domain that names a ``program_tool``): the Attacker writes
  only the problem and a program, in free text. The program's value, run in the sandbox
  before anything else, is the reference (a program that fails gets the repair turn);
  the Judge's blind solve must reach it and becomes the worked solution, so the example
  teaches a solution two derivations agree on. The tools then check that solution.
"""

from __future__ import annotations

import json

from ..domains import Domain
from ..errors import ModelOutputError
from ..records import Answer, BenchmarkItem, Draft, Question
from . import feedback, policy, stages
from .attempt import Attempt
from .feedback import FollowUp
from .programs import (
    PROGRAM_REPLY_FORMAT,
    ProgramDraft,
    ProgramFailed,
    question_from_program,
    read_program_reply,
)
from .roles import RoleFailure, ask_for_drafts
from .schemas import question_schema
from .seeds import seed_block
from .stages import Context, Stage
from .table import Table


class AttackForm:
    """The parts of a round that depend on how the Attacker writes its question."""

    #: the stages a draft goes through once written (:meth:`write`)
    stages: tuple[Stage, ...] = ()
    #: how many of the first ``stages`` are free checks: every draft of a turn takes
    #: them; only drafts that pass them go on to the rest, in order
    free: int = 2
    #: the Judge's blind solve runs whatever the policy says
    solve_required: bool = False
    #: how a follow-up turn asks for the reworked question
    again: str = ""

    def brief(self, rendered: str) -> str:
        """The Attacker's brief: the domain's template, rendered, and the reply's form."""
        return rendered

    def seed(self, item: BenchmarkItem | None) -> str:
        """The ``$seed`` text of the brief: how a seed problem is shown in this form."""
        return seed_block(item)

    async def write(
        self, table: Table, context: Context, attempts: list[Attempt]
    ) -> list[FollowUp | None]:
        """The Attacker's drafts, one per attempt, from one prompt: each attempt gets its
        question, or the failure or reason that stops it (maybe with a follow-up)."""
        raise NotImplementedError

    def as_reply(self, attempt: Attempt) -> str:
        """What the Attacker wrote, in the form it wrote it in."""
        raise NotImplementedError

    def disagreement(self) -> FollowUp:
        """The repair turn when the blind solve does not reach the reference."""
        raise NotImplementedError

    def solved(self, question: Question, solve: Answer) -> Question:
        """The question once a blind solve has reached its reference."""
        return question


class StatedForm(AttackForm):
    again = "Reply with the complete corrected JSON object only."

    def __init__(self, domain: Domain):
        self.schema = question_schema(domain.supports_programs)
        self.stages = (
            stages.screens,
            stages.novelty,
            stages.verify_reference,
            stages.defend,
            stages.solve_blind,
            stages.score,
        )

    async def write(
        self, table: Table, context: Context, attempts: list[Attempt]
    ) -> list[FollowUp | None]:
        max_tokens, temperature = table.request_options(context.attacking)
        domain = table.domain
        questions = await ask_for_drafts(
            table.seats[context.attacking],
            Question,
            context.request,
            role="attacker",
            usages=[attempt.usage["attacker"] for attempt in attempts],
            schema=question_schema(domain.supports_programs, domain.answer_pattern),
            max_tokens=max_tokens,
            temperature=temperature,
            seed=context.seed,
            fill={"domain": domain.name, "skill": context.skill},
        )
        for attempt, question in zip(attempts, questions, strict=True):
            if isinstance(question, RoleFailure):
                attempt.failure = question
            else:
                attempt.question = question
        return [None] * len(attempts)

    def as_reply(self, attempt: Attempt) -> str:
        question = attempt.question
        return json.dumps({key: getattr(question, key) for key in self.schema["properties"]})

    def disagreement(self) -> FollowUp:
        return feedback.repair_disagreement(
            "your reference answer",
            "the steps and the reference answer solve exactly what the question asks",
        )


class CodeFirstForm(AttackForm):
    solve_required = True
    again = "Reply with the complete corrected problem and program, in the same form."

    def __init__(self, domain: Domain):
        self.stages = (
            stages.screens,
            stages.novelty,
            stages.defend,
            stages.solve_blind,
            stages.verify_solution,
            stages.score,
        )

    def brief(self, rendered: str) -> str:
        return f"{rendered.rstrip()}\n\n{PROGRAM_REPLY_FORMAT}"

    def seed(self, item: BenchmarkItem | None) -> str:
        """A seed with a program is shown as a reply in the Attacker's own form."""
        return seed_block(item, code_first=True)

    async def write(
        self, table: Table, context: Context, attempts: list[Attempt]
    ) -> list[FollowUp | None]:
        """Each draft's program runs in the sandbox first: its value is the reference. A
        program that gives no answer is unverified, with the repair turn."""
        max_tokens, temperature = table.request_options(context.attacking)
        drafts = await ask_for_drafts(
            table.seats[context.attacking],
            ProgramDraft,
            context.request,
            role="attacker",
            usages=[attempt.usage["attacker"] for attempt in attempts],
            schema=None,
            read=read_program_reply,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=context.seed,
        )
        return [
            await self._run(table, attempt, draft, context.skill)
            for attempt, draft in zip(attempts, drafts, strict=True)
        ]

    async def _run(
        self, table: Table, attempt: Attempt, draft: ProgramDraft | RoleFailure, skill: str
    ) -> FollowUp | None:
        if isinstance(draft, RoleFailure):
            attempt.failure = draft
            return None
        try:
            attempt.question, attempt.program_run, changes = await question_from_program(
                table.domain, table.judge.call_tool, draft, skill
            )
            if changes:
                attempt.findings.completed = changes
        except ProgramFailed as failed:
            attempt.reason = policy.program_fault()
            attempt.findings.draft = Draft(text=draft.text, program=draft.program)
            attempt.findings.problems = [failed.detail]
            return feedback.repair_program(failed.detail)
        return None

    def as_reply(self, attempt: Attempt) -> str:
        written = attempt.question or attempt.findings.draft
        if written is None:
            raise ModelOutputError("nothing to rework")  # a follow-up comes after a reply
        return ProgramDraft(text=written.text, program=written.program).as_reply()

    def disagreement(self) -> FollowUp:
        return feedback.repair_disagreement(
            "your program's value",
            "the program computes exactly what the question asks, one line per step",
        )

    def solved(self, question: Question, solve: Answer) -> Question:
        return question.model_copy(update={"solution": solve.reasoning})


def form_for(domain: Domain) -> AttackForm:
    """Code-first where the domain names a program tool, stated otherwise."""
    return CodeFirstForm(domain) if domain.program_tool is not None else StatedForm(domain)
