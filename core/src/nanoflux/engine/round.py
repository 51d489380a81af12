"""A round: the Attacker asks, cheap checks screen, the Defender answers, the Judge rules.

:func:`play` returns an :class:`Outcome` and writes nothing; the ledger decides. Model
calls are spent only where they can change the decision, cheapest first:

1. copied from the prompt or the seed, steps out of band, the domain's own screen (free);
2. novelty against accepted, protected and this run's rejected questions (an embedding);
3. the domain's tools verify the reference (a sandboxed program, run twice);
4. the Defender answers (``rounds.defender_samples`` times; the pass rate is recorded);
5. only then the Judge's rubric.

A round is a list of attempts, each committed as its own candidate line. An unverified
question gets one repair turn and a question the Defender solves one "make it harder"
turn; each is a new attempt naming its parent, in the same conversation with the Attacker.

Code-first domains (``Domain.program_tool``): the Attacker writes only the problem and a
program. The program's value, run in the sandbox before anything else, is the reference
(a program that fails gets the repair turn); the Judge's blind solve must reach it and
becomes the worked solution, so the example teaches a solution two derivations agree on.
The tools then check that solution before the rubric.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..answers import copied_from_prompt
from ..backends import CompletionRequest
from ..config import RunConfig
from ..domains import Domain, PromptSet, Verification, choices_text
from ..errors import NanofluxError
from ..evaluation.extraction import extract_answer, looks_numeric
from ..kit.evidence import as_text
from ..novelty import NoveltyDecision
from ..plugins import PluginHost
from ..records import (
    Answer,
    BenchmarkItem,
    ChatMessage,
    Question,
    ToolEvidence,
    Usage,
    Verdict,
)
from ..secrets import mask_urls
from .gate import SharedGate
from .judge import Judge
from .ledger import ROLES, RunState
from .policy import (
    defender_fault,
    question_fault,
    safety_fault,
    solve_fault,
    verification_fault,
)
from .profile import WRONG_ANSWER_LABEL, DefenderProfile, describe_avoid, describe_wrong
from .programs import (
    PROGRAM_REPLY_FORMAT,
    ProgramDraft,
    ProgramFailed,
    program_repair_message,
    question_from_program,
    read_program_reply,
)
from .roles import RoleFailure, Seat, ask_for, complete_counted
from .schemas import question_schema
from .seeds import SeedPool, seed_block

# Bounded per role so no reply runs away: on 2 CPU cores a wasted token costs ~0.15 s.
# The Judge's scores take ~45 tokens; its rationale, last, may be cut (and is salvaged).
# The Defender (and the Judge's blind solve) get the evaluation's own budget: at 384 the
# 0.5B Defender was cut off before its answer in 1 round of 6.
DEFAULT_MAX_TOKENS = {"attacker": 512, "defender": 512, "judge": 128}
DEFAULT_TEMPERATURE = {"attacker": 0.8, "defender": 0.2, "judge": 0.0}
#: temperature of the Defender's extra samples, so that k answers can differ
SAMPLE_TEMPERATURE = 0.7
#: the Judge's system message when it solves a question blind (scripted models key on it).
#: Code-first, the solve is the example's solution: a Coder model left to itself adds a
#: program and an invented "```output" block, which an example must not teach. Brief:
#: the 1.5B ran past 512 tokens in 3 of 9 rounds of one README run (50 s each, wasted).
SOLVE_SYSTEM = (
    "You check a problem by solving it yourself, carefully, in words and arithmetic; "
    "do not write code. Be brief: one short line per step."
)
# Model seeds: base + 0/1/2 for attacker/defender/judge (base = run seed and round); a
# later attempt or an extra sample adds a multiple of 1_000_003, so a seed still tells
# which round it belongs to (scripted test models rely on that) yet differs per call.
_STRIDE = 1_000_003


@dataclass
class Attempt:
    """One try within a round, before the commit decides about it."""

    turn: str = "attack"
    parent: int | None = None  # position in Outcome.attempts of the attempt it reworks
    usage: dict[str, Usage] = field(default_factory=lambda: {role: Usage() for role in ROLES})
    started: float = field(default_factory=time.monotonic)
    question: Question | None = None
    answer: Answer | None = None
    verdict: Verdict | None = None
    vector: list[float] | None = None
    novelty: NoveltyDecision | None = None
    early_reason: str | None = None
    failure: RoleFailure | None = None
    #: code-first: the program's run that gave the reference (verification reuses it)
    program_run: ToolEvidence | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one round produced: its attempts, in the order they are to be committed."""

    index: int
    attacker: str
    defender: str
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class FollowUp:
    """Another turn the Attacker gets on its last question, and what it is told."""

    turn: str  # "repair" | "harder"
    message: str


@dataclass
class Table:
    """What every round of a run plays with: config, domain, prompts, seats and gate."""

    config: RunConfig
    host: PluginHost
    domain: Domain
    prompts: PromptSet
    seats: dict[str, Seat]
    gate: SharedGate | None
    seeds: SeedPool | None = None

    @property
    def code_first(self) -> bool:
        return self.domain.program_tool is not None

    def pairing(self, index: int) -> tuple[str, str]:
        """Which configured model attacks and which defends in round ``index``."""
        if self.config.alternate and index % 2 == 1:
            return "defender", "attacker"
        return "attacker", "defender"

    def request_options(self, role: str) -> tuple[int, float]:
        options = getattr(self.config, role).options
        return (
            int(options.get("max_tokens", DEFAULT_MAX_TOKENS[role])),
            float(options.get("temperature", DEFAULT_TEMPERATURE[role])),
        )

    @cached_property
    def judge(self) -> Judge:
        max_tokens, temperature = self.request_options("judge")
        return Judge(
            self.seats["judge"],
            self.domain,
            self.host,
            template=self.prompts.judge,
            samples=self.config.judging.samples,
            flag_inconsistent=self.config.judging.flag_inconsistent,
            tools=self.config.judging.tools,
            max_tokens=max_tokens,
            temperature=temperature,
        )


async def play(table: Table, index: int, state: RunState) -> Outcome:
    """Play round ``index`` against what ``state`` knows of its Defender so far."""
    attacking, defending = table.pairing(index)
    outcome = Outcome(
        index=index,
        # as recorded: a key in a URL's query string never reaches a file
        attacker=mask_urls(getattr(table.config, attacking).spec),
        defender=mask_urls(getattr(table.config, defending).spec),
    )
    seed = table.config.seed * 1_000_003 + index * 10
    rng = random.Random(seed)
    profile = state.profile(outcome.defender)
    skill = profile.pick_target(list(table.domain.skills), rng)
    seed_item = table.seeds.pick(rng) if table.seeds else None
    prompt = attacker_prompt(table, profile, state.recent_accepted, skill, seed_item)
    # What the Attacker could copy instead of writing: the template's own text and the
    # seed. (Past questions listed in the prompt are the novelty gate's business.)
    example = "\n".join([table.prompts.attacker, seed_item.question if seed_item else ""])
    seed_text = _normalize(seed_item.question) if seed_item else ""
    request, turn, parent, harder_done = prompt, "attack", None, False
    while True:
        attempt = Attempt(turn=turn, parent=parent)
        if seed_item is not None:
            attempt.metadata["seed"] = seed_item.id  # which training problem it builds on
        outcome.attempts.append(attempt)
        number = len(outcome.attempts) - 1
        # A repair may keep its parent's text (it mends the answer); a rewrite may not.
        earlier = [
            a.question.text
            for n, a in enumerate(outcome.attempts)
            if a.question and not (turn == "repair" and n == parent)
        ]
        shown = "\n".join([example, *earlier])
        reworked = outcome.attempts[parent].question if parent is not None else None
        try:
            attempt.question = await attack(
                table, attacking, attempt, request, skill, seed + 31 * _STRIDE * number
            )
            follow_up = await settle(
                table,
                attempt,
                defending,
                shown,
                seed + 31 * _STRIDE * number,
                seed_text,
                reworked=reworked,
            )
        except ProgramFailed as failed:
            attempt.failure = failed
            attempt.metadata["draft"] = failed.draft.model_dump()
            follow_up = FollowUp("repair", program_repair_message(failed.detail))
        except RoleFailure as failure:
            attempt.failure = failure
            return outcome
        except NanofluxError as exc:
            if getattr(exc, "stops_run", False):
                raise  # no later round can succeed either: the run ends with this error
            attempt.failure = RoleFailure("error", exc.one_line())
            return outcome
        rounds = table.config.rounds
        if follow_up is None:
            return outcome
        if follow_up.turn == "repair" and (turn == "repair" or not rounds.repair):
            return outcome
        if follow_up.turn == "harder" and (harder_done or not rounds.harder):
            return outcome
        harder_done = harder_done or follow_up.turn == "harder"
        request = follow_up_prompt(table, attempt, follow_up, prompt)
        turn, parent = follow_up.turn, number


def attacker_prompt(
    table: Table,
    profile: DefenderProfile,
    recent_accepted: deque,
    target_skill: str,
    seed_item: BenchmarkItem | None = None,
) -> str:
    """The Attacker's brief: the Defender's weaknesses, what to avoid, maybe a seed; and,
    code-first, the form of its reply (the round reads it, so the round says it)."""
    domain, acceptance = table.domain, table.config.acceptance
    skills = list(domain.skills)
    brief = table.prompts.render(
        "attacker",
        domain=domain.name,
        skills=", ".join(skills),
        target_skill=target_skill,
        weak_skills=", ".join(profile.weak_skills()) or "none yet",
        recent_wrong=describe_wrong(profile),
        avoid=describe_avoid(recent_accepted),
        hops_min=acceptance.hops_min,
        hops_max=acceptance.hops_max,
        seed=seed_block(seed_item, code_first=table.code_first),
    )
    return f"{brief.rstrip()}\n\n{PROGRAM_REPLY_FORMAT}" if table.code_first else brief


async def attack(
    table: Table,
    attacking: str,
    attempt: Attempt,
    request: str,
    skill: str,
    seed: int,
) -> Question:
    """The Attacker writes (or, asked by :func:`follow_up_prompt`, reworks) a question."""
    max_tokens, temperature = table.request_options(attacking)
    if table.code_first:
        draft = await ask_for(
            table.seats[attacking],
            ProgramDraft,
            request,
            role="attacker",
            usage=attempt.usage["attacker"],
            schema=None,
            read=read_program_reply,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
        )
        question, attempt.program_run = await question_from_program(
            table.domain, table.judge.call_tool, draft, skill
        )
        return question
    return await ask_for(
        table.seats[attacking],
        Question,
        request,
        role="attacker",
        usage=attempt.usage["attacker"],
        schema=question_schema(table.domain.supports_programs, table.domain.answer_pattern),
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        fill={"domain": table.domain.name, "skill": skill},
    )


async def settle(
    table: Table,
    attempt: Attempt,
    defending: str,
    shown: str,
    seed: int,
    seed_text: str = "",
    *,
    reworked: Question | None = None,
) -> FollowUp | None:
    """Screen, verify, defend and judge one question, stopping at the first rejection.

    ``shown`` is what the Attacker could copy: its template, its seed and, in a follow-up
    turn, the questions it wrote before; ``seed_text``, the seed's normalized question;
    ``reworked``, the question a follow-up turn was asked to rework.
    Returns the turn the Attacker gets next, if the rejection is one it can mend.
    """
    question, acceptance = attempt.question, table.config.acceptance
    text = _normalize(question.text)
    if (
        text in _normalize(shown)
        or (seed_text and seed_text in text)
        or WRONG_ANSWER_LABEL in question.text
        or (reworked is not None and _same_question(question, reworked))
    ):
        # Small models copy the prompt's example or seed (whole, with lines of their
        # own added), or hand back the question they were asked to rework; either way it
        # is not a new question. A repair may keep the text, not the whole question:
        # handed back unchanged, it would only be played and rejected again.
        attempt.early_reason = "copied_prompt"
        return None
    attempt.early_reason = question_fault(acceptance, question)
    if attempt.early_reason:
        if question.hops < acceptance.hops_min:
            # too few steps is too easy: the "harder" turn adds the steps it lacks
            return FollowUp("harder", _more_steps_message(question.hops, acceptance.hops_min))
        return None
    problems = table.domain.screen(question)
    if problems:
        attempt.early_reason = "ill_posed"
        attempt.metadata["problems"] = problems
        return FollowUp("repair", _screen_repair_message(problems))
    if not await novel(table, attempt):
        return None

    verification = None
    if not table.code_first:
        verification = await table.judge.verify(question)
        if tools_reject(acceptance, attempt, verification):
            if attempt.early_reason == "unverified":
                return FollowUp("repair", _repair_message(question, verification))
            return None  # unsafe: never worth a repair

    answers = await defend(table, defending, attempt, seed + 1)
    attempt.answer = answers[0]
    checks = [
        table.domain.check_answer(
            question.reference_answer, answer.final_answer, choices=question.choices
        )
        for answer in answers
    ]
    pass_rate = sum(checks) / len(checks)
    attempt.metadata.update(defender_correct=checks[0], pass_rate=round(pass_rate, 4))
    if len(answers) > 1:
        attempt.metadata["defender_answers"] = [a.final_answer for a in answers]
    defender_prompt = _defender_prompt(table, question)
    if not checks[0] and copied_from_prompt(
        attempt.answer.final_answer, defender_prompt, question=question.text
    ):
        # Wrong because it parroted its prompt, not on its own merit: no use as a lesson.
        attempt.early_reason = "copied_prompt"
        return None
    attempt.early_reason = defender_fault(
        acceptance, checks[0], pass_rate if len(answers) > 1 else None
    )
    if attempt.early_reason:
        return FollowUp("harder", _harder_message(attempt.answer))

    if acceptance.require_independent_solve or table.code_first:
        # The Judge solves the question blind, as the Defender did: a reference that a
        # program and steps share can still misread the problem; a fresh solve that
        # reaches it is evidence they did not. Code-first, the solve is the solution.
        solved = await answer_of(
            table.seats["judge"],
            attempt,
            defender_prompt,
            system=SOLVE_SYSTEM,
            role="judge",
            max_tokens=DEFAULT_MAX_TOKENS["defender"],
            temperature=0.0,
            seed=seed + 3,
        )
        agrees = table.domain.check_answer(
            question.reference_answer, solved.final_answer, choices=question.choices
        )
        attempt.metadata.update(judge_answer=solved.final_answer, judge_agrees=agrees)
        attempt.early_reason = solve_fault(acceptance, agrees, required=table.code_first)
        if attempt.early_reason:
            # Unverified: the repair turn. The Attacker is shown neither answer, so a
            # repaired question that the next blind solve reaches is still reached blind.
            return FollowUp("repair", _disagreement_message(table.code_first))
        if table.code_first:
            question = attempt.question = question.model_copy(update={"solution": solved.reasoning})

    if verification is None:
        # code-first: the tools check the question with the solution the example teaches
        known = [attempt.program_run] if attempt.program_run else []
        verification = await table.judge.verify(question, known)
        if tools_reject(acceptance, attempt, verification):
            return None

    attempt.verdict = await table.judge.score(
        question, attempt.answer, verification, usage=attempt.usage["judge"], seed=seed + 2
    )
    return None


def tools_reject(acceptance, attempt: Attempt, verification: Verification) -> bool:
    """Record the tools' verdict; True (with the reason set) when it alone rejects."""
    attempt.metadata["tools_verdict"] = verification.verified
    attempt.early_reason = safety_fault(acceptance, verification.safe) or verification_fault(
        acceptance, verification.verified
    )
    if attempt.early_reason:
        # No verdict will carry the evidence: keep it on the attempt's record.
        attempt.metadata["evidence"] = [e.model_dump(mode="json") for e in verification.evidence]
    return attempt.early_reason is not None


async def novel(table: Table, attempt: Attempt) -> bool:
    """The novelty gate, and this run's memory of rejected questions. False ends it."""
    if table.gate is None:
        return True
    gate = table.gate
    attempt.vector = await asyncio.to_thread(gate.embed, attempt.question.text)
    attempt.novelty = await asyncio.to_thread(gate.check, attempt.vector)
    if attempt.novelty.verdict != "novel":
        return False
    repeated = gate.repeats_rejected(attempt.vector)
    if repeated >= gate.duplicate_threshold:
        attempt.metadata["rejected_similarity"] = round(repeated, 4)
        attempt.early_reason = "repeats_rejected"
        return False
    return True


async def defend(table: Table, defending: str, attempt: Attempt, seed: int) -> list[Answer]:
    """The Defender's answers: the first at its own temperature, the rest sampled.

    The Defender answers in its own words, the way it is evaluated (``nanoflux eval``'s
    chain-of-thought protocols), and its final answer is read from the reply. A JSON
    schema made small models loop inside the reasoning string or leave it empty.
    """
    max_tokens, temperature = table.request_options(defending)
    prompt = _defender_prompt(table, attempt.question)
    return [
        await answer_of(
            table.seats[defending],
            attempt,
            prompt,
            max_tokens=max_tokens,
            temperature=temperature if sample == 0 else max(temperature, SAMPLE_TEMPERATURE),
            seed=seed + 97 * _STRIDE * sample,
        )
        for sample in range(table.config.rounds.defender_samples)
    ]


async def answer_of(
    seat: Seat,
    attempt: Attempt,
    prompt: str,
    *,
    max_tokens: int,
    temperature: float,
    seed: int,
    role: str = "defender",
    system: str | None = None,
) -> Answer:
    """A free-text answer to the attempt's question, read the way ``nanoflux eval`` reads."""
    question, usage = attempt.question, attempt.usage[role]
    request = CompletionRequest(
        messages=[
            *([ChatMessage(role="system", content=system)] if system else []),
            ChatMessage(role="user", content=prompt),
        ],
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
    completion = await complete_counted(seat, request, role=role, usage=usage)
    found = extract_answer(
        completion.text,
        choices=question.choices,
        numeric=looks_numeric(question.reference_answer),
    )
    cut = completion.finish_reason == "length"
    # Cut off before its answer, a reply's last number is a step on the way, not an
    # answer: the Defender would be "wrong", or the solve disagree, for no reason.
    if found.answer is None or (cut and found.fallback):
        usage.failed_calls += 1
        why = (
            "the reply was cut off at the token limit before its final answer"
            if cut
            else "no final answer in the reply"
        )
        raise RoleFailure(f"malformed_{role}", why)
    return Answer(reasoning=completion.text.strip(), final_answer=found.answer)


def _defender_prompt(table: Table, question: Question) -> str:
    return table.prompts.render(
        "defender", question=question.text, choices=choices_text(question.choices)
    )


def _repair_message(question: Question, verification: Verification) -> str:
    """What the Attacker is told when its reference is not verified. The program is the
    ground truth: when it ran and disagrees, the Attacker is shown its value; the steps
    must then reach that value with their own arithmetic (tools check them too)."""
    program = [
        item
        for item in verification.evidence
        if item.supports_reference is False
        and item.result.ok
        and question.program
        and item.args.get("code") == question.program
    ]
    problems = "; ".join(
        item.note or (item.result.error or "")
        for item in verification.evidence
        if item.supports_reference is not True and (item.note or item.result.error)
    )
    if program:
        value = as_text(program[0].result.value)
        return (
            f"Your program's solution() returns {value}, but your reference_answer is "
            f"{question.reference_answer}. If the program computes what the problem asks, "
            f"redo the solution steps with their arithmetic so that they reach {value}, and "
            f"set reference_answer to {value}; if it does not, fix the program."
        )
    return (
        f"Checking your reply found a problem: {problems or 'nothing checks the answer'}. "
        "Fix it: each solution step shows its arithmetic and the last one reaches the "
        "reference answer; the program defines solution() with no parameters, uses only "
        "numbers stated in the problem and returns that same answer."
    )


def _harder_message(answer: Answer) -> str:
    return (
        f"The student solved that one (its answer: {answer.final_answer[:80]}). Write a "
        "harder version: keep the problem, change its numbers, and add one or two more "
        "steps at the end that use its result, so that the question asks for a new final "
        "result, and a program that computes the new final result."
    )


def _more_steps_message(hops: int, hops_min: int) -> str:
    steps = f"{hops} calculation step" + ("" if hops == 1 else "s")
    return (
        f"That problem takes only {steps}; it needs at least {hops_min}. Write a harder "
        "version: keep the problem, and add steps at the end that use its result, so that "
        "the question asks for a new final result, and a program that computes it."
    )


def _disagreement_message(code_first: bool) -> str:
    checked = "your program's value" if code_first else "your reference answer"
    fix = (
        "the program computes exactly what the question asks, one line per step"
        if code_first
        else "the steps and the reference answer solve exactly what the question asks"
    )
    return (
        f"A careful solver who read your problem did not reach {checked}. Either the "
        "problem can be read in more than one way, or it does not state everything the "
        "solution uses. Rewrite it so that it states every number and has exactly one "
        f"reading, and make sure {fix}."
    )


def _screen_repair_message(problems: list[str]) -> str:
    return (
        f"Checking your problem found: {'; '.join(problems)}. Fix that: rewrite the "
        "problem, and the program where it is at fault."
    )


#: what a follow-up turn's prompt shows the Attacker's reply under (scripted test models
#: key on it)
FOLLOW_UP_MARK = "Earlier you wrote this reply:"


def follow_up_prompt(table: Table, attempt: Attempt, follow_up: FollowUp, brief: str) -> str:
    """A follow-up turn asked afresh: the round's brief (its rules), what the Attacker
    wrote, and what to change, in one message. Asked as the next turn of a conversation,
    the 1.5B Attacker handed its reply back unchanged in 4 of 4 repairs (``bench yield``,
    seed 0); shown without the brief, it forgot the rules (parameters, prose in the text).
    """
    again = (
        "Reply with the complete corrected problem and program, in the same form."
        if table.code_first
        else "Reply with the complete corrected JSON object only."
    )
    reply = _as_reply(table, attempt)
    return f"{brief}\n\n{FOLLOW_UP_MARK}\n{reply}\n\n{follow_up.message} {again}"


def _as_reply(table: Table, attempt: Attempt) -> str:
    """What the Attacker wrote, in the form it wrote it in."""
    if table.code_first:
        if attempt.question is not None:
            question = attempt.question
            return ProgramDraft(text=question.text, program=question.program).as_reply()
        return attempt.failure.draft.as_reply()
    schema = question_schema(table.domain.supports_programs)
    return json.dumps({key: getattr(attempt.question, key) for key in schema["properties"]})


def _same_question(question: Question, other: Question) -> bool:
    return _normalize(question.text) == _normalize(other.text) and (
        question.program,
        question.reference_answer,
        question.solution_steps,
    ) == (other.program, other.reference_answer, other.solution_steps)


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())
