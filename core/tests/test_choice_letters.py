"""One table letters a question's choices (nanoflux.domains.CHOICE_LETTERS): the
Defender's prompt, dataset examples and evaluation prompts show the same letters."""

from __future__ import annotations

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
