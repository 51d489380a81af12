"""The free screen of a code-first math question: numbers the problem never states."""

from nanoflux_math import MathDomain
from nanoflux_math.screen import screen, stated_numbers

PROGRAM = (
    "def solution():\n"
    "    ben = 20\n"
    "    anna = ben * 1.15\n"
    "    charlie = ben / (1 - 0.25)\n"
    "    return ben + anna + charlie\n"
)


def test_a_number_the_problem_never_states_is_found():
    # seen from Qwen2.5-Coder-1.5B: Ben's count is in the program only
    text = (
        "Anna has 15% more books than Ben, and Ben has 25% fewer books than Charlie. "
        "How many books do all three have together?"
    )
    (problem,) = screen(text, PROGRAM)
    assert problem.startswith("the program uses 20, which the problem does not state")


def test_stated_numbers_digits_words_and_percentages_pass():
    text = (
        "Ben has 20 books. Anna has 15% more books than Ben, and Ben has 25% fewer "
        "books than Charlie. How many books do all three have together?"
    )
    assert screen(text, PROGRAM) == []
    assert {3.0, 12.0, 0.5} <= stated_numbers("three boxes of a dozen eggs, half broken")
    assert {1500.0, 0.2, 1.2, 0.8} <= stated_numbers("1,500 people, 20% of them")


def test_reader_constants_and_no_program_pass():
    program = "def solution():\n    minutes = 3 * 60\n    return minutes / 2\n"
    assert screen("A walk takes 3 hours. Half of it, in minutes?", program) == []
    assert screen("Anything at all", None) == []


def test_the_domain_screens_with_it():
    question = MathDomain().example_question()
    assert MathDomain().screen(question) == []
    assert MathDomain().screen(question.model_copy(update={"text": "How much?"}))
