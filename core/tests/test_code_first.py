"""Code-first attacks: how a program's value becomes a reference and its lines the steps."""

import pytest

from nanoflux.engine.programs import answer_value, computing_lines, rounded_to, split_choices

NUMBER = r"^-?[0-9][0-9,]*([.][0-9]+)?(/[0-9]+)?%?$"  # the math pack's answer_pattern


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (42, "42"),
        (42.0, "42"),
        (262.20000000000005, "262.2"),
        (0.1 + 0.2, "0.3"),
        (5 / 6, "0.833333"),
        (-3.5, "-3.5"),
        ("3/4", "3/4"),
        (" 12 ", "12"),
    ],
)
def test_a_programs_value_is_written_as_an_answer(value, written):
    assert answer_value(value, NUMBER) == written


@pytest.mark.parametrize(
    "value", [None, True, float("nan"), float("inf"), [1, 2], {"a": 1}, "", "twelve"]
)
def test_a_value_that_is_not_an_answer_is_none(value):
    # "twelve" is text, but not the shape of a math answer
    assert answer_value(value, NUMBER) is None


@pytest.mark.parametrize(
    ("program", "places"),
    [
        ("def solution():\n    crcl = 85 / 1.9 * 0.85\n    return round(crcl, 1)", 1),
        ("def solution():\n    qtc = 380 / 0.866\n    qtc = round(qtc, 2)\n    return qtc", 2),
        ("def solution():\n    x = round(2.25, 1)\n    x = x * 2\n    return x", None),
        ("def solution():\n    return round(7 / 2)", None),
        ("def solution():\n    return 12.0", None),
        ("def solution(:", None),
    ],
)
def test_the_places_a_program_rounds_its_value_to(program, places):
    assert rounded_to(program) == places


def test_a_value_rounded_to_places_keeps_them():
    """The Cockcroft-Gault program returned round(x, 1) = 12.0: written "12", a blind solve
    that reached 11.6 agreed at whole-number precision."""
    assert answer_value(12.0, NUMBER, decimals=1) == "12.0"
    assert answer_value(38.025, NUMBER, decimals=2) == "38.02"  # as the float rounds
    assert answer_value(12.0, NUMBER) == "12"
    assert answer_value(12, NUMBER, decimals=1) == "12"  # an int was not rounded to places


def test_without_a_pattern_any_text_is_an_answer():
    assert answer_value("BRCA1", None) == "BRCA1"


def test_the_computing_lines_are_the_steps():
    program = (
        "def solution():\n"
        "    price = 3\n"  # a stated number: no step
        "    muffins = 45 * price\n"
        "    cookies = 2 * 45 * 2\n"
        "    total = muffins + cookies\n"
        "    total -= 60\n"
        "    return round(total, 2)\n"
    )
    assert computing_lines(program) == [
        "muffins = 45 * price",
        "cookies = 2 * 45 * 2",
        "total = muffins + cookies",
        "total -= 60",
        "return round(total, 2)",
    ]


def test_a_program_that_does_not_parse_has_no_steps():
    assert computing_lines("def solution(:\n    return 1") == []


BRACED = "def solution():\n    parts = [1, 2]\n    return sum(parts)}"


@pytest.mark.parametrize(
    ("written", "program"),
    [
        # the JSON object's closing brace, caught inside the program string
        (BRACED, "def solution():\n    parts = [1, 2]\n    return sum(parts)\n"),
        (BRACED + "}\n", "def solution():\n    parts = [1, 2]\n    return sum(parts)\n"),
        # a markdown fence around the code
        ("```python\ndef solution():\n    return 2 * 3\n```", "def solution():\n    return 2 * 3"),
    ],
)
def test_what_json_or_markdown_left_on_a_program_is_taken_off(written, program):
    from nanoflux.engine.programs import ProgramDraft

    draft = ProgramDraft(text="t", program=written)
    assert draft.program == program
    compile(draft.program, "<draft>", "exec")


def test_a_result_named_after_the_function_that_computes_it_is_renamed():
    from nanoflux.engine.programs import ProgramDraft

    # a medicine trial's draft, written again in 4 of 4 repairs: UnboundLocalError as written
    written = (
        "def solution():\n"
        "    bmi = bmi(weight_kg=97, height_m=1.78)  # bmi: kg/m²\n"
        "    return round(bmi, 1)\n"
    )
    program = ProgramDraft(text="t", program=written).program
    assert program == (
        "def solution():\n"
        "    bmi_value = bmi(weight_kg=97, height_m=1.78)  # bmi: kg/m²\n"
        "    return round(bmi_value, 1)\n"
    )
    namespace = {"bmi": lambda weight_kg, height_m: weight_kg / height_m**2}
    exec(compile(program, "<draft>", "exec"), namespace)
    assert namespace["solution"]() == 30.6
    # a name that is no function's is the program's own business
    plain = "def solution():\n    total = 3\n    total = total * 2\n    return total\n"
    assert ProgramDraft(text="t", program=plain).program == plain


def test_a_program_with_balanced_braces_is_kept_whole():
    from nanoflux.engine.programs import ProgramDraft

    program = "def solution():\n    prices = {'a': 2}\n    return prices['a'] * 3\n"
    assert ProgramDraft(text="t", program=program).program == program
    # a brace that closes nothing, inside it, is the program's own business
    odd = "def solution():\n    return len('}')\n"
    assert ProgramDraft(text="t", program=odd).program == odd


@pytest.mark.parametrize(
    "written",
    [
        # the body's lines at column 0, a tab on the first, and a call after the body
        "def solution():\n\tcattle = 300\ntrips = cattle // 30\nreturn trips * 2\n"
        "\nprint(solution())",
        # the first step on the def line itself
        "def solution(): cattle = 300  # head\ntrips = cattle // 30\nreturn trips * 2",
    ],
)
def test_a_body_that_lost_its_indentation_is_indented_again(written):
    from nanoflux.engine.programs import ProgramDraft

    program = ProgramDraft(text="t", program=written).program
    assert program.startswith("def solution():\n    cattle = 300")
    namespace = {}
    exec(compile(program, "<draft>", "exec"), namespace)
    assert namespace["solution"]() == 20


def test_a_program_with_blocks_is_not_reindented_by_guess():
    from nanoflux.engine.programs import ProgramDraft

    # where the blocks end cannot be told: it stays as written and fails as written
    written = "def solution():\ntotal = 0\nfor n in range(3):\ntotal += n\nreturn total"
    assert ProgramDraft(text="t", program=written).program == written


def test_a_program_written_in_json_as_its_lines_is_joined():
    from nanoflux.engine.programs import ProgramDraft

    lines = ["def solution():", "    cows = 15", "    return cows * 2"]
    assert ProgramDraft(text="t", program=lines).program == "\n".join(lines)


def test_a_body_written_on_one_line_is_split_into_its_statements():
    from nanoflux.engine.programs import ProgramDraft

    written = "def solution(): books = 50 cost = 5 total = books * cost total += 2 return total"
    program = ProgramDraft(text="t", program=written).program
    assert program.splitlines() == [
        "def solution():",
        "    books = 50",
        "    cost = 5",
        "    total = books * cost",
        "    total += 2",
        "    return total",
    ]


def test_a_body_without_its_def_line_is_put_under_one():
    from nanoflux.engine.programs import ProgramDraft

    lines = ["layers = 3", "flour = 2 * layers", "return flour"]
    assert ProgramDraft(text="t", program=lines).program.splitlines() == [
        "def solution():",
        "    layers = 3",
        "    flour = 2 * layers",
        "    return flour",
    ]
    # without a return there is no answer to guess: it stays as written and fails
    lines = ["layers = 3", "flour = 2 * layers"]
    assert ProgramDraft(text="t", program=lines).program == "\n".join(lines)


@pytest.mark.parametrize(
    "written",
    [
        "def solution():\n    cows = 15\n    milk = cows * 2\n",
        "def solution():\n    cows = 15\n    milk = cows * 2\n    milk\n",
        "def solution():\n    milk = 0\n    milk += 15 * 2\n",
        "def solution():\n    cows = 15\n    cows * 2\n",
    ],
)
def test_a_function_that_ends_on_its_last_result_returns_it(written):
    from nanoflux.engine.programs import ProgramDraft

    program = ProgramDraft(text="t", program=written).program
    namespace = {}
    exec(compile(program, "<draft>", "exec"), namespace)
    assert namespace["solution"]() == 30


@pytest.mark.parametrize(
    "written",
    [
        "def solution():\n    milk = 30\n    print(milk)\n",  # ends another way
        "def solution():\n    if True:\n        return 30\n    milk = 1\n",  # returns somewhere
    ],
)
def test_a_function_that_does_not_end_on_a_result_is_kept(written):
    from nanoflux.engine.programs import ProgramDraft

    assert ProgramDraft(text="t", program=written).program == written


# -- the Attacker's reply: the problem, then its program ------------------------------

PROGRAM = "def solution():\n    cows = 15\n    return cows * 2\n"


@pytest.mark.parametrize(
    "reply",
    [
        # as asked
        "Problem: A farm has 15 cows. How many legs?\n```python\n" + PROGRAM + "```",
        # bold label, a blank line, a label before the code and prose after it
        "**Problem:** A farm has 15 cows. How many legs?\n\nProgram:\n```py\n"
        + PROGRAM
        + "```\nThis program multiplies the cows by 2.",
        # no label, the fence cut off at the token limit
        "A farm has 15 cows. How many legs?\n```python\n" + PROGRAM,
        # no fence at all
        "Problem: A farm has 15 cows. How many legs?\n" + PROGRAM,
    ],
)
def test_an_attackers_reply_is_read_into_its_problem_and_program(reply):
    from nanoflux.engine.programs import ProgramDraft, read_program_reply

    draft = ProgramDraft.model_validate(read_program_reply(reply))
    assert draft.text == "A farm has 15 cows. How many legs?"
    assert draft.program.rstrip() == PROGRAM.rstrip()


def test_a_reply_is_read_back_from_how_it_is_written():
    from nanoflux.engine.programs import ProgramDraft, read_program_reply

    draft = ProgramDraft(text="A farm has 15 cows. How many legs?", program=PROGRAM)
    assert ProgramDraft.model_validate(read_program_reply(draft.as_reply())) == draft


def test_a_reply_in_json_is_read_as_json():
    from nanoflux.engine.programs import read_program_reply

    reply = '{"text": "A farm has 15 cows.", "program": ["def solution():", "    return 30"]}'
    assert read_program_reply(reply) == {
        "text": "A farm has 15 cows.",
        "program": ["def solution():", "    return 30"],
    }


@pytest.mark.parametrize(
    ("reply", "missing"),
    [
        ("Problem: A farm has 15 cows. How many legs? The answer is 30.", "no program"),
        ("```python\n" + PROGRAM + "```", "no problem"),
        ("Problem:\n```python\n" + PROGRAM + "```", "no problem"),
        # a block without the function is not the program
        ("Problem: A farm has 15 cows.\n```python\nprint(30)\n```", "no program"),
    ],
)
def test_a_reply_without_its_problem_or_program_names_what_is_missing(reply, missing):
    from nanoflux.engine.programs import read_program_reply
    from nanoflux.errors import ModelOutputError

    with pytest.raises(ModelOutputError, match=missing):
        read_program_reply(reply)


# -- multiple choice: options after the problem ---------------------------------------------


@pytest.mark.parametrize(
    "text, stem, choices",
    [
        (
            "How far?\nA. 4 km\nB. 5 km\nC) 6 km\n(D) 7 km",
            "How far?",
            ["4 km", "5 km", "6 km", "7 km"],
        ),
        ("How far?\na. 4\nb. 5\nc. 6", "How far?", ["4", "5", "6"]),
        # an "A." in the stem is not an option; the run of options starts at its own A
        ("Plan A. is late.\nB. no\nA. 1\nB. 2\nC. 3", "Plan A. is late.\nB. no", ["1", "2", "3"]),
    ],
)
def test_options_after_a_problem_make_it_multiple_choice(text, stem, choices):
    assert split_choices(text) == (stem, choices)


@pytest.mark.parametrize(
    "text",
    [
        "How far?\nA. 4\nB. 5",  # two options are not a choice of answers
        "How far?\nA. 4\nC. 5\nD. 6",  # not A, B, C in order
        "A. 4\nB. 5\nC. 6",  # options without a problem
        "Walk 4 km. How far?",
    ],
)
def test_a_problem_without_a_run_of_options_is_not_multiple_choice(text):
    assert split_choices(text) == (text, None)
