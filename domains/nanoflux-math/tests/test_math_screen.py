"""The free screen of a code-first math question: unstated numbers, odd answers."""

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


def test_an_answer_that_does_not_come_out_even_or_is_negative_is_found():
    # values programs of the 1.5B Attacker returned, each for a misread problem
    program = "def solution():\n    left = 6000 - 2000\n    return left - 0.2 * left\n"
    text = "A shop had $6,000 and spent $2,000, then 20% of the rest. How much is left?"
    for answer, word in (("3.333333", "does not come out even"), ("-800", "is negative")):
        (problem,) = screen(text, program, answer)
        assert f"the program's answer, {answer}, " in problem and word in problem
    # an even answer, a price in cents, or a negative one the question means, pass
    for answer in ("3200", "12.5", "0.75", "3/4"):
        assert screen(text, program, answer) == []
    cold = "It was 5 degrees and fell by 8 degrees. What is the temperature now?"
    assert screen(cold, "def solution():\n    return 5 - 8\n", "-3") == []
    # the domain screens the reference, which is the program's value
    question = MathDomain().example_question()
    assert MathDomain().screen(question.model_copy(update={"reference_answer": "-255"}))
