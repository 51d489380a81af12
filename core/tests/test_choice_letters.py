"""One table letters a question's choices (nanoflux.domains.CHOICE_LETTERS): the
Defender's prompt, dataset examples and evaluation prompts show the same letters."""

from __future__ import annotations

import json

import pytest

from nanoflux.domains import CHOICE_LETTERS, choices_text
from nanoflux.engine.example import build_example
from nanoflux.errors import DataFormatError
from nanoflux.records import Answer, Question, Verdict


def _example(choices: list[str]):
    question = Question(
        text="Which option is the eleventh?",
        domain="quiz",
        hops=1,
        skill="counting",
        reference_answer="K",
        solution_steps=["Count the options to the eleventh."],
        choices=choices,
    )
    verdict = Verdict(
        reference_verified=True,
        defender_correct=False,
        accuracy=5,
        coherence=5,
        safety=5,
        reasoning_quality=4.0,
        level="L4",
    )
    return build_example(
        question,
        Answer(final_answer="J"),
        verdict,
        similarity=0.1,
        attacker="a",
        defender="d",
        round_index=0,
    )


def test_an_example_of_eleven_choices_letters_them_as_the_defender_saw_them():
    # "ABCDEFGHIJ" lettered ten: the eleventh was an IndexError inside the commit
    choices = [f"option {n}" for n in range(1, 12)]
    user = _example(choices).messages[0].content
    assert user.endswith("\n\n" + choices_text(choices))
    assert user.splitlines()[-1] == "K. option 11"


def test_more_choices_than_letters_is_one_line_not_an_index_error():
    assert len(CHOICE_LETTERS) == 26 and choices_text(["x"] * 26).splitlines()[-1] == "Z. x"
    with pytest.raises(DataFormatError) as caught:
        _example(["x"] * 27)
    assert caught.value.one_line() == (
        "a question with 27 choices, more than the 26 letters A-Z can name"
    )


def _round_with_choices(tmp_path, arith_host, monkeypatch, choices):
    """One scripted round whose Attacker's question carries ``choices``."""
    import nanoflux_test_arith as arith

    from nanoflux.config import validate_config
    from nanoflux.engine import run

    written = arith.question_for
    monkeypatch.setattr(arith, "question_for", lambda index: {**written(index), "choices": choices})
    config = validate_config(
        {
            "domain": "arith",
            "attacker": {"spec": "scripted:nanoflux_test_arith:model"},
            "defender": {"spec": "scripted:nanoflux_test_arith:other_model"},
            "judge": {"spec": "scripted:nanoflux_test_arith:model"},
            "out": str(tmp_path / "run"),
            "novelty": {"embedder": "hashing", "store": "memory"},
            "budget": {"max_rounds": 1},
            "acceptance": {"require_independent_solve": False},
        }
    )
    out = run(config, arith_host).out_dir
    rows = [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    dataset = out / "dataset.jsonl"
    return rows, dataset.read_text() if dataset.exists() else ""


def test_a_round_commits_an_eleven_choice_question(tmp_path, arith_host, monkeypatch):
    choices = [str(n) for n in range(11)]
    rows, dataset = _round_with_choices(tmp_path, arith_host, monkeypatch, choices)
    assert [row["reason"] for row in rows] == ["accepted"]
    user = json.loads(dataset)["messages"][0]["content"]
    assert user.endswith("?\n\nA. 0\nB. 1\nC. 2\nD. 3\nE. 4\nF. 5\nG. 6\nH. 7\nI. 8\nJ. 9\nK. 10")


def test_a_round_ends_a_question_with_too_many_choices_in_one_line(
    tmp_path, arith_host, monkeypatch
):
    rows, dataset = _round_with_choices(tmp_path, arith_host, monkeypatch, ["x"] * 27)
    (row,) = rows
    assert (row["reason"], row["error"]) == (
        "error",
        "a question with 27 choices, more than the 26 letters A-Z can name",
    )
    assert row["usage"]["defender"]["calls"] == 0  # refused before the Defender is asked
    assert dataset == ""
