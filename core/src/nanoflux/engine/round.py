"""A round: the Attacker asks, the novelty gate screens, the Defender answers, the Judge
rules. :func:`play` returns an :class:`Outcome` and writes nothing; the ledger decides.

A round is a list of attempts, each committed as its own candidate line in order. Today
a round makes one attempt (turn ``"attack"``); a turn that reworks an earlier attempt
(a repair, a harder rewrite) appends another :class:`Attempt` naming its ``parent``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..config import RunConfig
from ..domains import Domain, PromptSet, choices_text
from ..errors import NanofluxError
from ..novelty import NoveltyDecision
from ..plugins import PluginHost
from ..records import Answer, Question, Usage, Verdict
from .gate import SharedGate
from .judge import Judge
from .ledger import ROLES, RunState
from .profile import DefenderProfile, describe_avoid, describe_wrong
from .roles import RoleFailure, Seat, ask_for
from .schemas import ANSWER_SCHEMA, question_schema

DEFAULT_MAX_TOKENS = {"attacker": 512, "defender": 320, "judge": 256}
DEFAULT_TEMPERATURE = {"attacker": 0.8, "defender": 0.2, "judge": 0.0}


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
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one round produced: its attempts, in the order they are to be committed."""

    index: int
    attacker: str
    defender: str
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class Table:
    """What every round of a run plays with: config, domain, prompts, seats and gate."""

    config: RunConfig
    host: PluginHost
    domain: Domain
    prompts: PromptSet
    seats: dict[str, Seat]
    gate: SharedGate | None

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


async def play(table: Table, index: int, state: RunState) -> Outcome:
    """Play round ``index`` against what ``state`` knows of its Defender so far."""
    attacking, defending = table.pairing(index)
    outcome = Outcome(
        index=index,
        attacker=getattr(table.config, attacking).spec,
        defender=getattr(table.config, defending).spec,
    )
    seed = table.config.seed * 1_000_003 + index * 10
    profile = state.profile(outcome.defender)
    attempt = Attempt()
    outcome.attempts.append(attempt)
    try:
        attempt.question = await attack(
            table, attacking, attempt, seed, profile, state.recent_accepted, index
        )
        if not await screen(table, attempt):
            return outcome
        attempt.answer = await defend(table, defending, attempt, seed + 1)
        attempt.verdict = await judge(table, attempt, seed + 2)
    except RoleFailure as failure:
        attempt.failure = failure
    except NanofluxError as exc:
        if getattr(exc, "stops_run", False):
            raise  # no later round can succeed either: the run ends with this error
        attempt.failure = RoleFailure("error", exc.one_line())
    return outcome


async def attack(
    table: Table,
    attacking: str,
    attempt: Attempt,
    seed: int,
    profile: DefenderProfile,
    recent_accepted: deque,
    index: int,
) -> Question:
    """The Attacker writes a question aimed at the Defender's weaknesses."""
    domain, acceptance = table.domain, table.config.acceptance
    skills = list(domain.skills)
    max_tokens, temperature = table.request_options(attacking)
    prompt = table.prompts.render(
        "attacker",
        domain=domain.name,
        skills=", ".join(skills),
        target_skill=profile.pick_target(skills, index),
        weak_skills=", ".join(profile.weak_skills()) or "none yet",
        recent_wrong=describe_wrong(profile),
        avoid=describe_avoid(recent_accepted),
        hops_min=acceptance.hops_min,
        hops_max=acceptance.hops_max,
    )
    return await ask_for(
        table.seats[attacking],
        Question,
        prompt,
        role="attacker",
        usage=attempt.usage["attacker"],
        schema=question_schema(domain.supports_programs),
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        fill={"domain": domain.name},
    )


async def screen(table: Table, attempt: Attempt) -> bool:
    """Before the Defender spends a token: is this question new? False ends the attempt."""
    question = attempt.question
    if _normalize(question.text) in _normalize(table.prompts.attacker):
        # Small models copy the prompt's worked example; it is not a new question.
        attempt.early_reason = "copied_prompt"
        return False
    if table.gate is not None:
        attempt.vector = await asyncio.to_thread(table.gate.embed, question.text)
        attempt.novelty = await asyncio.to_thread(table.gate.check, attempt.vector)
        if attempt.novelty.verdict != "novel":
            return False
    return True


async def defend(table: Table, defending: str, attempt: Attempt, seed: int) -> Answer:
    question = attempt.question
    max_tokens, temperature = table.request_options(defending)
    prompt = table.prompts.render(
        "defender", question=question.text, choices=choices_text(question.choices)
    )
    return await ask_for(
        table.seats[defending],
        Answer,
        prompt,
        role="defender",
        usage=attempt.usage["defender"],
        schema=ANSWER_SCHEMA,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )


async def judge(table: Table, attempt: Attempt, seed: int) -> Verdict:
    max_tokens, temperature = table.request_options("judge")
    the_judge = Judge(
        table.seats["judge"],
        table.domain,
        table.host,
        template=table.prompts.judge,
        samples=table.config.judging.samples,
        flag_inconsistent=table.config.judging.flag_inconsistent,
        tools=table.config.judging.tools,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    return await the_judge.judge(
        attempt.question, attempt.answer, usage=attempt.usage["judge"], seed=seed
    )


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())
