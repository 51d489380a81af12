"""Does a run directory still tell one story? Checked before a run is resumed.

candidates.jsonl is the ledger: lines numbered from 0 without gaps or repeats, rounds
that never go back or skip, ids that never repeat. dataset.jsonl holds the accepted
examples of that ledger in the same order; a kill may leave it short of its last
ones, which are then restored from their candidate lines, and a full disk (or a kill)
that cut off a candidate line may leave that one example past the ledger's, which is
dropped. stats.json is refreshed
about once a second, so it may lag the ledger but never lead it. Anything else is
damage that resuming would build on, and is refused with the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import DataFormatError
from ..records import Candidate, Example

if TYPE_CHECKING:
    from .run_store import RunStore

UNCHANGED = "nothing was changed; restore the file from a copy or start a new run"


def _damaged(where: str, what: str, hint: str = UNCHANGED) -> DataFormatError:
    return DataFormatError(f"{where}: {what}", hint=hint)


def _ledger(store: RunStore) -> list[Candidate]:
    ledger: list[Candidate] = []
    ids: set[str] = set()
    accepted_ids: set[str] = set()
    for number, candidate in store.numbered_candidates():
        where = f"{store.candidates_path}:{number}"
        expected = len(ledger)
        if candidate.index != expected:
            raise _damaged(
                where,
                f"candidate index {candidate.index} where {expected} was expected "
                "(a line is missing or repeated)",
            )
        previous = ledger[-1].round if ledger else 0
        if not previous <= candidate.round <= previous + 1 or (not ledger and candidate.round):
            raise _damaged(where, f"round {candidate.round} cannot follow round {previous}")
        if candidate.candidate_id in ids:
            raise _damaged(where, f"candidate_id {candidate.candidate_id} repeats")
        if candidate.parent_id is not None and candidate.parent_id not in ids:
            raise _damaged(where, f"parent_id {candidate.parent_id} is not an earlier attempt")
        if candidate.accepted:
            example = candidate.example
            if example is None or not example.id or example.id != candidate.example_id:
                raise _damaged(where, "an accepted candidate without its example")
            if example.id in accepted_ids:
                raise _damaged(where, f"example {example.id} was accepted twice")
            accepted_ids.add(example.id)
        ids.add(candidate.candidate_id)
        ledger.append(candidate)
    return ledger


@dataclass
class Repair:
    """What a resume does to dataset.jsonl so that it holds the ledger's examples again."""

    #: accepted examples missing from its end, restored from their candidate lines
    missing: list[Example] = field(default_factory=list)
    #: the line where an example begins whose candidate line never made it whole (a full
    #: disk or a kill cut it off; candidates.jsonl is the ledger): dropped
    orphan_line: int | None = None


def check_continuity(store: RunStore) -> Repair:
    """Raise on damage; return what restores dataset.jsonl to the ledger's examples."""
    ledger = _ledger(store)
    accepted = [c.example for c in ledger if c.accepted and c.example is not None]
    stats = store.stats()
    for key, held in (("attempts", len(ledger)), ("accepted", len(accepted))):
        counted = stats.get(key)
        if isinstance(counted, int) and counted > held:
            raise _damaged(
                str(store.stats_path),
                f"counts {counted} {key} but {store.candidates_path.name} holds {held} "
                "(lines are missing from it)",
            )
    return _dataset_repair(store, accepted)


def _dataset_repair(store: RunStore, accepted: list[Example]) -> Repair:
    """dataset.jsonl must be a prefix of ``accepted``, plus at most one example past it
    whose candidate line was lost: the candidate is written first, so one commit cut
    short leaves at most one such example, and it was never counted."""
    rebuild = f"delete {store.dataset_path.name} to rebuild it from the candidates"
    written, repair = 0, Repair()
    ids = {example.id for example in accepted}
    for number, example in store.numbered_examples():
        where = f"{store.dataset_path}:{number}"
        if written >= len(accepted):
            if example.id in ids:
                raise _damaged(where, f"example {example.id!r} is written twice", rebuild)
            if repair.orphan_line is not None:
                raise _damaged(where, f"example {example.id!r} has no accepted candidate", rebuild)
            repair.orphan_line = number
            continue
        if example.as_dict() != accepted[written].as_dict():
            raise _damaged(
                where,
                f"example {example.id!r} is not {accepted[written].id!r}, the next one "
                "candidates.jsonl accepted (a line is missing, repeated or changed)",
                rebuild,
            )
        written += 1
    repair.missing = accepted[written:]
    return repair
