"""The free screen of a code-first math question (the kit's): unstated numbers, odd answers."""

from nanoflux_math import MathDomain

PROGRAM = (
    "def solution():\n"
    "    ben = 20\n"
    "    anna = ben * 1.15\n"
    "    charlie = ben / (1 - 0.25)\n"
    "    return ben + anna + charlie\n"
)


def screened(text, program, answer="57"):
    question = MathDomain().example_question()
    return MathDomain().screen(
        question.model_copy(update={"text": text, "program": program, "reference_answer": answer})
    )


def test_a_number_the_problem_never_states_is_found():
    # seen from Qwen2.5-Coder-1.5B: Ben's count is in the program only
    text = (
        "Anna has 15% more books than Ben, and Ben has 25% fewer books than Charlie. "
        "How many books do all three have together?"
    )
    (problem,) = screened(text, PROGRAM)
    assert problem.startswith("the program uses 20, which the problem does not state")


def test_stated_numbers_and_reader_constants_pass_and_no_program_is_not_screened():
    text = (
        "Ben has 20 books. Anna has 15% more books than Ben, and Ben has 25% fewer "
        "books than Charlie. How many books do all three have together?"
    )
    assert screened(text, PROGRAM) == []
    program = "def solution():\n    minutes = 3 * 60\n    return minutes / 2\n"
    assert screened("A walk takes 3 hours. Half of it, in minutes?", program, "90") == []
    assert screened("Anything at all", None, "-3.333333") == []


def test_the_example_passes_and_a_question_without_its_numbers_does_not():
    question = MathDomain().example_question()
    assert MathDomain().screen(question) == []
    assert MathDomain().screen(question.model_copy(update={"text": "How much?"}))


def test_an_answer_that_does_not_come_out_even_or_is_negative_is_found():
    # values programs of the 1.5B Attacker returned, each for a misread problem
    program = "def solution():\n    left = 6000 - 2000\n    return left - 0.2 * left\n"
    text = "A shop had $6,000 and spent $2,000, then 20% of the rest. How much is left?"
    for answer, word in (("3.333333", "does not come out even"), ("-800", "is negative")):
        (problem,) = screened(text, program, answer)
        assert f"the program's answer, {answer}, " in problem and word in problem
        assert "a word problem's numbers give an exact answer" in problem or word != "even"
    # an even answer, a price in cents, or a negative one the question means, pass
    for answer in ("3200", "12.5", "0.75", "3/4"):
        assert screened(text, program, answer) == []
    cold = "It was 5 degrees and fell by 8 degrees. What is the temperature now?"
    assert screened(cold, "def solution():\n    return 5 - 8\n", "-3") == []
    question = MathDomain().example_question()
    assert MathDomain().screen(question.model_copy(update={"reference_answer": "-255"}))


def test_a_count_of_things_with_a_fraction_is_found():
    # a payoff run's draft: the program divided 110 cookies among 4 friends, the blind
    # solve among 5, and the Defender and the blind solve were paid for nothing
    text = (
        "A baker has 120 cookies and takes 10 of them for herself. She divides the rest "
        "equally among 4 friends. How many cookies does each friend get?"
    )
    program = "def solution():\n    rest = 120 - 10\n    return rest / 4\n"
    (problem,) = screened(text, program, "27.5")
    assert problem.startswith("the question asks how many cookies, a count,")
    assert screened(text.replace("cookies does", "pounds of cookies does"), program, "27.5") == []
