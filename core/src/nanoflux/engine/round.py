"""A round: the Attacker asks, cheap checks screen, the Defender answers, the Judge rules.

:func:`play` returns an :class:`~.attempt.Outcome` and writes nothing; the ledger
decides. Model calls are spent only where they can change the decision, cheapest first
(:mod:`.stages`, in the order the attack form gives, :mod:`.forms`):

1. copied from the prompt or the seed, steps out of band, the domain's own screen (free);
2. novelty against accepted, protected and this run's rejected questions (an embedding);
3. the domain's tools verify the reference (a sandboxed program, run twice);
4. the Defender answers (``rounds.defender_samples`` times; the pass rate is recorded);
5. the Judge's blind solve, where required; only then the Judge's rubric.

A round is a list of attempts, each committed as its own candidate line. Each turn of
the Attacker writes ``rounds.drafts`` drafts from one prompt (a backend that batches
reads the prompt once); every draft takes the free checks (1-2), and those that pass go
on, in order. An unverified question gets one repair turn and a question the Defender
solves one "make it harder" turn (:mod:`.feedback`), unless the Judge scored another
draft of the turn; each is a new attempt naming its parent.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from ..errors import NanofluxError
from ..records import BenchmarkItem, Reason
from ..secrets import mask_urls
from . import feedback
from .attempt import Attempt, Outcome
from .feedback import FollowUp
from .ledger import RunState
from .policy import normalized
from .profile import DefenderProfile, describe_avoid, describe_wrong
from .roles import RoleFailure
from .solving import STRIDE
from .stages import Context, Stage, settle
from .table import Table


async def play(table: Table, index: int, state: RunState) -> Outcome:
    """Play round ``index`` against what ``state`` knows of its Defender so far."""
    attacking, defending = table.pairing(index)
    outcome = Outcome(
        index=index,
        # as recorded: a key in a URL's query string never reaches a file
        attacker=mask_urls(getattr(table.config, attacking).spec),
        defender=mask_urls(getattr(table.config, defending).spec),
    )
    base = table.config.seed * STRIDE + index * 10
    rng = random.Random(base)
    profile = state.profile(outcome.defender)
    # a seeded round targets a skill its seeds cover, and shows a seed of that skill
    skills = table.seeds.covering(table.domain.skills) if table.seeds else table.domain.skills
    skill = profile.pick_target(list(skills), rng)
    seed_item = table.seeds.pick(rng, skill) if table.seeds else None
    shown_seed = table.domain.as_drafted(seed_item) if seed_item else None
    brief = attacker_prompt(table, profile, state.recent_accepted, skill, shown_seed)
    # What the Attacker could copy instead of writing: the template's own text and the
    # seed, as shown and whole. (Past questions listed in the prompt are the novelty
    # gate's business.)
    seeds = [seed_item.question, shown_seed.question] if seed_item and shown_seed else []
    example = "\n".join([table.prompts.attacker, *dict.fromkeys(seeds)])
    context = Context(
        attacking=attacking,
        defending=defending,
        skill=skill,
        request=brief,
        seed=base,
        shown=example,
        seed_text=normalized(seed_item.question) if seed_item else "",
    )
    turns, turn, parent = Turns(table), "attack", None
    while True:
        asked = await _turn(table, outcome, context, turn, parent, seed_item)
        if asked is None or not turns.grant(turn, asked[1].turn):
            return outcome
        parent, follow_up = asked
        turn = follow_up.turn
        context = context.next(
            request=feedback.follow_up_prompt(
                brief, table.form.as_reply(outcome.attempts[parent]), follow_up, table.form.again
            ),
            seed=base + 31 * STRIDE * len(outcome.attempts),
            shown=_copyable(example, outcome, turn, parent),
            reworked=outcome.attempts[parent].question,
        )


async def _turn(
    table: Table,
    outcome: Outcome,
    context: Context,
    turn: str,
    parent: int | None,
    seed_item: BenchmarkItem | None,
) -> tuple[int, FollowUp] | None:
    """One turn of the Attacker: its drafts from one prompt (``rounds.drafts``, by default
    as many as its backend decodes together). Every draft takes the free checks; those
    that pass go on to the rest of the stages, in order, but for one as close as a
    duplicate to an earlier draft the Judge scored. Returns the first follow-up a draft
    asked for, with the draft's position, unless the Judge scored one of them."""
    form = table.form
    count = table.config.rounds.drafts or table.seats[context.attacking].backend.drafts_together
    drafts = [Attempt(turn=turn, parent=parent) for _ in range(count)]
    for attempt in drafts:
        if seed_item is not None:
            attempt.findings.seed = seed_item.id  # which training problem it builds on
    first = len(outcome.attempts)
    outcome.attempts.extend(drafts)
    try:
        follow_ups = await form.write(table, context, drafts)
    except (RoleFailure, NanofluxError) as exc:
        failure = _failure(exc)
        for attempt in drafts:
            attempt.failure = failure
        return None
    for number, attempt in enumerate(drafts):
        if _open(attempt):
            follow_ups[number] = await _try(table, attempt, context, form.stages[: form.free])
    scored: list[Attempt] = []
    for number, attempt in enumerate(drafts):
        _same_as_sibling(table, attempt, scored)
        if _open(attempt):
            follow_ups[number] = await _try(table, attempt, context, form.stages[form.free :])
            if attempt.verdict is not None:
                scored.append(attempt)
    if scored:
        return None  # the Judge scored a draft: the turn has its question
    asked = [(first + n, f) for n, f in enumerate(follow_ups) if f is not None]
    return asked[0] if asked else None


def _open(attempt: Attempt) -> bool:
    """Nothing has stopped the attempt yet."""
    return attempt.failure is None and attempt.reason is None and attempt.verdict is None


def _same_as_sibling(table: Table, attempt: Attempt, scored: list[Attempt]) -> None:
    """A draft as close to an earlier draft of its turn that the Judge scored as the
    novelty gate calls a duplicate does not go on. (One the Judge did not reach, say a
    blind solve that disagreed, leaves its siblings their chance: drafts of one prompt
    often tell one story with other numbers.)"""
    gate = table.gate
    if gate is None or attempt.vector is None or not _open(attempt):
        return
    if any(
        gate.similarity(attempt.vector, other.vector) >= gate.duplicate_threshold
        for other in scored
    ):
        attempt.reason = Reason.DUPLICATE


async def _try(
    table: Table, attempt: Attempt, context: Context, stages: tuple[Stage, ...]
) -> FollowUp | None:
    """An attempt through ``stages``; a role that produces nothing ends it, an error that
    no later round could escape ends the run."""
    try:
        return await settle(table, attempt, context, stages)
    except (RoleFailure, NanofluxError) as exc:
        attempt.failure = _failure(exc)
    return None


def _failure(exc: Exception) -> RoleFailure:
    if isinstance(exc, RoleFailure):
        return exc
    if getattr(exc, "stops_run", False):
        raise exc  # no later round can succeed either: the run ends with this error
    return RoleFailure("error", exc.one_line())


@dataclass
class Turns:
    """Which follow-up turns a round still has: one repair (not of a repair), one harder."""

    table: Table
    harder_done: bool = False

    def grant(self, turn: str, asked: str) -> bool:
        rounds = self.table.config.rounds
        if asked == "repair" and (turn == "repair" or not rounds.repair):
            return False
        if asked == "harder" and (self.harder_done or not rounds.harder):
            return False
        self.harder_done = self.harder_done or asked == "harder"
        return True


def _copyable(example: str, outcome: Outcome, turn: str, parent: int) -> str:
    """What a follow-up's Attacker could copy: the template, the seed and the questions
    it wrote before. A repair may keep its parent's text (it mends the answer); a
    rewrite may not."""
    earlier = [
        a.question.text
        for n, a in enumerate(outcome.attempts)
        if a.question and not (turn == "repair" and n == parent)
    ]
    return "\n".join([example, *earlier])


def attacker_prompt(
    table: Table,
    profile: DefenderProfile,
    recent_accepted: deque,
    target_skill: str,
    seed_item: BenchmarkItem | None = None,
) -> str:
    """The Attacker's brief: the Defender's weaknesses, what to avoid, maybe a seed (as
    shown, :meth:`Domain.as_drafted`), and the form of its reply (the form reads it, so
    the form says it)."""
    domain, acceptance = table.domain, table.config.acceptance
    return table.form.brief(
        table.prompts.render(
            "attacker",
            domain=domain.name,
            skills=", ".join(domain.skills),
            target_skill=target_skill,
            weak_skills=", ".join(profile.weak_skills()) or "none yet",
            recent_wrong=describe_wrong(profile, target_skill),
            avoid=describe_avoid(recent_accepted),
            hops_min=acceptance.hops_min,
            hops_max=acceptance.hops_max,
            seed=table.form.seed(seed_item),
        )
    )
