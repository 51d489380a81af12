"""The ledger: what a run has decided so far, and the commit that extends it.

Every change to a run's state goes through :meth:`RunState.apply`, one candidate at
a time: the live commit applies the record it has just written, and a resume applies
the records it reads back. One fold, so a resumed run cannot disagree with the run it
continues.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..config import RunConfig
from ..records import CANDIDATE_SCHEMA, ROLES, Candidate, Example, NoveltyCheck, Reason, Usage
from .attempt import Attempt, Outcome
from .example import build_example, example_id
from .policy import decide, failure_reason
from .profile import DefenderProfile

if TYPE_CHECKING:
    from .gate import SharedGate
    from .run_store import RunStore


#: the thread accepted records are written from (one, so writes keep their order)
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoflux-ledger")


class RunState:
    """Counts, usage, the Defender profiles and the memory of rejected questions, folded
    from candidate records."""

    def __init__(self, profile_size: int):
        self.profile_size = profile_size
        self.attempts = 0
        self.rounds = 0
        self.accepted = 0
        self.accepted_ids: set[str] = set()
        self.reasons: Counter = Counter()
        self.usage = {role: Usage() for role in ROLES}
        self.profiles: dict[str, DefenderProfile] = {}
        self.recent_accepted: deque = deque(maxlen=max(profile_size, 1))
        self.accepted_per_round: list[list[int]] = []
        #: rejected questions that reached the novelty gate, in ledger order: a question
        #: too close to one of them is ``repeats_rejected`` (``rounds.remember_rejected``)
        self.rejected_questions: list[str] = []

    @classmethod
    def replay(cls, candidates, profile_size: int) -> RunState:
        state = cls(profile_size)
        for candidate in candidates:
            state.apply(candidate)
        return state

    def profile(self, defender: str) -> DefenderProfile:
        return self.profiles.setdefault(defender, DefenderProfile(size=self.profile_size))

    def apply(self, candidate: Candidate) -> None:
        self.attempts += 1
        self.rounds = max(self.rounds, candidate.round + 1)
        self.reasons[candidate.reason] += 1
        for role, used in candidate.usage.items():
            self.usage.setdefault(role, Usage()).add(used)
        question, answer, verdict = candidate.question, candidate.answer, candidate.verdict
        findings = candidate.findings
        # A round that stopped before the Judge still knows whether the Defender was right.
        correct = verdict.defender_correct if verdict is not None else findings.defender_correct
        # A wrong answer to a question whose reference the Judge's blind solve did not
        # reach says nothing about the Defender: the question was likely ill-posed.
        unsound = findings.judge_agrees is False
        if question is not None and answer is not None and correct is not None and not unsound:
            self.profile(candidate.defender).observe(
                question.skill, question.text, answer.final_answer, bool(correct)
            )
        if candidate.decision == "rejected" and candidate.novelty is not None and question:
            self.rejected_questions.append(question.text)
        if candidate.accepted:
            self.accepted += 1
            self.accepted_ids.add(candidate.example_id)
            self.recent_accepted.append(question.text)
            self.accepted_per_round.append([candidate.round, self.accepted])

    def total_tokens(self) -> int:
        return sum(u.prompt_tokens + u.completion_tokens for u in self.usage.values())

    def rounds_since_accepted(self) -> int:
        last = self.accepted_per_round[-1][0] + 1 if self.accepted_per_round else 0
        return self.rounds - last

    def counts(self, target: int, seconds: float) -> dict[str, Any]:
        """The part of stats.json that the ledger alone determines (and the clock)."""
        tokens = self.total_tokens()
        return {
            "attempts": self.attempts,
            "accepted": self.accepted,
            "target": target,
            "acceptance_rate": round(self.accepted / self.attempts, 4) if self.attempts else 0.0,
            "rounds": self.attempts,
            "rejections": {k: v for k, v in sorted(self.reasons.items()) if k != "accepted"},
            "usage": {role: u.model_dump() for role, u in self.usage.items()},
            "total_tokens": tokens,
            "accepted_per_million_tokens": round(self.accepted / tokens * 1e6, 3)
            if tokens
            else 0.0,
            "seconds": round(seconds, 3),
            "tokens_per_second": round(tokens / seconds, 2) if seconds else 0.0,
            "accepted_per_round": self.accepted_per_round,
        }


class Ledger:
    """Decides each attempt of a round and writes it; the only writer of RunState."""

    def __init__(
        self,
        store: RunStore,
        state: RunState,
        config: RunConfig,
        *,
        gate: SharedGate | None,
        run_id: str,
        log: logging.Logger,
    ):
        self.store = store
        self.state = state
        self.config = config
        self.gate = gate
        self.run_id = run_id
        self.log = log

    async def commit(self, outcome: Outcome) -> list[Candidate]:
        """Write a round's attempts in order. Rounds are committed in round order."""
        written = []
        for number, attempt in enumerate(outcome.attempts):
            candidate = self.decide(outcome, number, attempt)
            await self._write(outcome, candidate, attempt)
            self._counted(outcome, candidate, attempt)
            written.append(candidate)
        return written

    def _counted(self, outcome: Outcome, candidate: Candidate, attempt: Attempt) -> None:
        remembered = len(self.state.rejected_questions)
        self.state.apply(candidate)
        if self.gate is not None and self.config.rounds.remember_rejected:
            if len(self.state.rejected_questions) > remembered:
                self.gate.remember_rejected([attempt.vector])
        self.log.info(
            "round %d: %s (%s)%s",
            outcome.index,
            candidate.decision,
            candidate.reason,
            f": {candidate.error}" if candidate.error else "",
        )

    def decide(self, outcome: Outcome, number: int, attempt: Attempt) -> Candidate:
        """The candidate line for one attempt: the policy's reason, and the example."""
        novelty, example, error = attempt.novelty, None, None
        if attempt.failure is not None:
            decision, error = "failed", attempt.failure.detail
            reason = failure_reason(attempt.failure.reason)
        elif attempt.verdict is None:
            if attempt.reason is None:
                raise RuntimeError("an attempt ended with neither a verdict nor a reason")
            decision, reason = "rejected", attempt.reason
        else:
            if self.gate is not None and attempt.vector is not None:
                novelty = self.gate.check(attempt.vector)  # rounds committed since
            reason, example = self._judged(outcome, attempt, novelty)
            decision = "accepted" if reason is Reason.ACCEPTED else "rejected"
        return Candidate(
            schema_version=CANDIDATE_SCHEMA,
            index=self.state.attempts,
            round=outcome.index,
            candidate_id=f"{outcome.index}.{number}",
            parent_id=None if attempt.parent is None else f"{outcome.index}.{attempt.parent}",
            turn=attempt.turn,
            attacker=outcome.attacker,
            defender=outcome.defender,
            question=attempt.question,
            answer=attempt.answer,
            verdict=attempt.verdict,
            novelty=None
            if novelty is None
            else NoveltyCheck(
                verdict=novelty.verdict,
                similarity=round(novelty.similarity, 4),
                nearest_id=novelty.nearest.id if novelty.nearest else None,
            ),
            decision=decision,
            reason=reason,
            example_id=example.id if example else None,
            example=example,
            usage=attempt.usage,
            seconds=round(time.monotonic() - attempt.started, 4),
            error=error,
            findings=attempt.findings,
        )

    def _judged(self, outcome: Outcome, attempt: Attempt, novelty) -> tuple[Reason, Example | None]:
        """The policy's decision on an attempt the Judge scored, and its example."""
        question, verdict = attempt.question, attempt.verdict
        sampled = self.config.rounds.defender_samples > 1
        pass_rate = attempt.findings.pass_rate if sampled else None
        reason = decide(
            self.config.acceptance,
            question,
            verdict,
            novelty,
            pass_rate=pass_rate,
            judge_agrees=attempt.findings.judge_agrees,
            already_accepted=example_id(question.domain, question.text) in self.state.accepted_ids,
            target_reached=self.state.accepted >= self.config.target,
        )
        if reason is not Reason.ACCEPTED:
            return reason, None
        return reason, build_example(
            question,
            attempt.answer,
            verdict,
            similarity=novelty.similarity if novelty else 0.0,
            attacker=outcome.attacker,
            defender=outcome.defender,
            round_index=outcome.index,
            pass_rate=pass_rate,
        )

    async def _write(self, outcome: Outcome, candidate: Candidate, attempt: Attempt) -> None:
        if candidate.example is None:
            self.store.append_candidate(candidate)
            return
        # The fsync of an accepted record happens off the event loop, so lanes waiting
        # on their models are not held up; commits still go one by one. Cancelled while
        # the thread writes, it lets the write finish and counts it before it stops, so
        # what the run counts (stats.json) is what its ledger holds.
        writing = _WRITER.submit(self._write_accepted, candidate, attempt)
        try:
            await asyncio.wrap_future(writing)
        except asyncio.CancelledError:
            if not writing.cancel():  # it started: a line is all or nothing
                writing.result()
                self._counted(outcome, candidate, attempt)
            raise

    def _write_accepted(self, candidate: Candidate, attempt: Attempt) -> None:
        self.store.append_candidate(candidate)
        self.store.append_example(candidate.example)
        if self.gate is not None:
            self.gate.remember(
                candidate.example.id,
                candidate.question.text,
                run_id=self.run_id,
                vector=attempt.vector,
            )
