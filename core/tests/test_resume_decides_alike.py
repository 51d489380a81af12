"""A resumed run decides exactly as the uninterrupted run did: stopped after any round
and resumed, its ledger is the same, line for line. Everything a decision depends on
(counts, Defender profiles, the memory of rejected questions) is folded from the ledger.
"""

import json

import pytest

from nanoflux.config import validate_config
from nanoflux.engine import run

RESPONDERS = "scripted:nanoflux_test_arith"
ROUNDS = 14


def attacker_for(arith):
    """Rounds that test the memory of rejected questions: round 4k+1 declares too many
    steps (rejected before the novelty gate); round 4k+2 asks that very question again
    with its steps right, which the gate has never seen; round 4k+3 repeats round 4k
    (accepted or not, it reached the gate)."""

    def attacker(request):
        index = arith.round_of(request)
        if index % 4 == 1:
            return {**arith.question_for(index), "hops": 12}
        if index % 4 == 2:
            return arith.question_for(index - 1)
        if index % 4 == 3:
            return arith.question_for(index - 3)
        return arith.question_for(index)

    return attacker


def config(tmp_path, max_rounds):
    return validate_config(
        {
            "domain": "arith",
            "attacker": {"spec": f"{RESPONDERS}:model"},
            "defender": {"spec": f"{RESPONDERS}:other_model"},
            "judge": {"spec": f"{RESPONDERS}:model"},
            "alternate": False,
            "target": 100,
            "out": str(tmp_path),
            "novelty": {"embedder": "hashing", "store": "memory"},
            "budget": {"max_rounds": max_rounds},
            "acceptance": {"require_independent_solve": False},
        }
    )


def decisions(folder):
    lines = (folder / "candidates.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    return [(r["candidate_id"], r["decision"], r["reason"], r["example_id"]) for r in rows]


@pytest.fixture
def scripted(arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    monkeypatch.setattr(arith, "attacker", attacker_for(arith))
    return arith_host


def test_a_run_resumed_after_any_round_decides_as_the_uninterrupted_run(tmp_path, scripted):
    whole = tmp_path / "whole"
    run(config(whole, ROUNDS), scripted)
    expected = decisions(whole)
    reasons = {reason for _, _, reason, _ in expected}
    # the script reaches every path the memory matters on
    assert {"hops_out_of_band", "repeats_rejected", "accepted"} <= reasons
    for stop in range(1, ROUNDS):
        folder = tmp_path / f"stopped-after-{stop}"
        run(config(folder, stop), scripted)
        run(config(folder, ROUNDS), scripted, resume=True)
        assert decisions(folder) == expected, f"resumed after round {stop}"


def test_only_questions_that_reached_the_gate_are_remembered(tmp_path, scripted):
    """Round 2 asks round 1's question, which was refused for its steps before the
    gate: neither the live run nor a resumed one may call it a repeat."""
    whole = tmp_path / "whole"
    run(config(whole, 3), scripted)
    by_round = {cid.split(".")[0]: reason for cid, _, reason, _ in decisions(whole)}
    assert by_round["1"] == "hops_out_of_band"
    assert by_round["2"] != "repeats_rejected"
