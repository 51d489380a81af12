"""What a round hands the ledger: its attempts, each with what was found and why it
stopped, in typed records (the ledger decides; nothing here writes a file)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..domains import Verification
from ..novelty import NoveltyDecision
from ..records import ROLES, Answer, Findings, Question, Reason, ToolEvidence, Usage, Verdict
from .roles import RoleFailure


@dataclass
class Attempt:
    """One try within a round, before the commit decides about it.

    ``reason`` is set by the stage that stopped it early (always a policy answer);
    an attempt that reached the Judge carries its ``verdict`` instead, and one whose
    role produced nothing its ``failure``.
    """

    turn: str = "attack"
    parent: int | None = None  # position in Outcome.attempts of the attempt it reworks
    usage: dict[str, Usage] = field(default_factory=lambda: {role: Usage() for role in ROLES})
    started: float = field(default_factory=time.monotonic)
    question: Question | None = None
    answer: Answer | None = None
    verdict: Verdict | None = None
    vector: list[float] | None = None
    novelty: NoveltyDecision | None = None
    reason: Reason | None = None
    failure: RoleFailure | None = None
    findings: Findings = field(default_factory=Findings)
    #: code-first: the program's run that gave the reference (verification reuses it)
    program_run: ToolEvidence | None = None
    #: what the tools found, for the Judge's rubric
    verification: Verification | None = None


@dataclass
class Outcome:
    """What one round produced: its attempts, in the order they are to be committed."""

    index: int
    attacker: str
    defender: str
    attempts: list[Attempt] = field(default_factory=list)
