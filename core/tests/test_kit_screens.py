"""The kit's free screens of a code-first question: what the problem states, what the
program passes to a pack's functions, what a generator builds, what the answer looks
like; and seed programs read from JSONL."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest

from nanoflux.errors import DataFormatError
from nanoflux.kit import (
    UNKNOWN,
    answer_problems,
    argument_problems,
    calls_in,
    jsonl_benchmark,
    numbers_of,
    reused_numbers_problems,
    stated_numbers,
    stated_numbers_problems,
    unshown_problems,
)

# -- numbers the problem states ----------------------------------------------------------------


def test_stated_numbers_are_digits_words_and_what_a_percentage_makes():
    assert {3.0, 12.0, 0.5} <= stated_numbers("three boxes of a dozen eggs, half broken")
    assert {1500.0, 0.2, 1.2, 0.8} <= stated_numbers("1,500 people, 20% of them")
    assert {150.0, 90.0, 1.5} <= stated_numbers("BP 150/90 mmHg, creatinine 1.5 mg/dL")


def test_a_number_the_problem_never_states_is_named_reader_constants_are_not():
    program = "def solution():\n    weight = 70\n    return round(weight / 1.75 ** 2, 1)\n"
    (problem,) = stated_numbers_problems("A 70 kg person. What is the BMI?", program)
    assert problem.startswith("the program uses 1.75, which the problem does not state")
    assert stated_numbers_problems("A 70 kg person, 1.75 m tall. BMI?", program) == []
    # a pack's own constants (a pound is 2.2 kg): a reader brings them
    pounds = "def solution():\n    return round(154 / 2.2, 1)\n"
    assert stated_numbers_problems("He weighs 154 lb. In kg?", pounds)
    assert stated_numbers_problems("He weighs 154 lb. In kg?", pounds, constants={1, 2.2}) == []
    assert stated_numbers_problems("Anything", None) == []


def test_a_generators_arguments_need_not_be_stated():
    program = "def solution():\n    seq = dna(seed=17, length=30)\n    return seq.count('G') * 3\n"
    assert stated_numbers_problems("How many G ...?", program) == [
        "the program uses 17, 30, which the problem does not state: the problem must give "
        "every number its solution needs"
    ]
    assert stated_numbers_problems("How many G ...?", program, given={"dna"}) == []


# -- the answer's shape --------------------------------------------------------------------------


def test_an_answer_that_does_not_come_out_even_or_is_negative():
    text = "A shop had $6,000 and spent $2,000. How much is left?"
    (uneven,) = answer_problems(text, "3.333333")
    assert uneven == (
        "the program's answer, 3.333333, does not come out even: "
        "a word problem's numbers give an exact answer"
    )
    (negative,) = answer_problems(text, "-800")
    assert "is negative" in negative
    assert answer_problems(text, "12.5") == answer_problems(text, "3/4") == []
    assert answer_problems("It fell 8 degrees. The temperature now?", "-3") == []
    # a field that rounds to one decimal says so, and why
    (rounded,) = answer_problems("BMI?", "24.49", decimals=1, exact="round it as asked")
    assert rounded.endswith("does not come out even: round it as asked")


def test_with_whole_counts_a_count_of_things_is_whole_and_a_measure_need_not_be():
    """Candidates of a payoff run: 8.5 apples and 27.5 cookies each went on to the
    Defender and the blind solve; 47.5 ounces of fruit is a measure, and right."""
    apples = (
        "She gave half of the remaining apples to her sister. How many apples does she have left?"
    )
    (count,) = answer_problems(apples, "8.5", whole_counts=True)
    assert count == (
        "the question asks how many apples, a count, but the program's answer is 8.5: "
        "a count is a whole number"
    )
    assert answer_problems(apples, "8.5") == []  # not asked for: medicine's half tablets
    assert answer_problems(apples, "8", whole_counts=True) == []
    assert answer_problems(apples, "8.0", whole_counts=True) == []
    shared = "He shares them among the friends. How many more blue candies does each get?"
    assert "how many more blue candies," in answer_problems(shared, "2.5", whole_counts=True)[0]
    for measured in (
        "Each banana weighs 0.5 ounces. How many ounces are there in total?",
        "The trip is 150 km at 60 km/h. How many hours does it take?",
        "A pie costs $7.50. How many dollars do 3 pies cost?",
        "How many times as heavy is the box as the bag?",
        "What share of the apples is red?",  # no "how many" at all
    ):
        assert answer_problems(measured, "2.5", whole_counts=True) == [], measured
    # a value that does not come out even says that, once
    (uneven,) = answer_problems(apples, "2.666667", whole_counts=True)
    assert "does not come out even" in uneven


def test_the_numbers_of_an_example_it_was_shown():
    shown = "def solution():\n    return bmi(weight_kg=82, height_m=1.7) + 3\n"
    again = "def solution():\n    x = bmi(height_m=1.7, weight_kg=82)\n    return x + 3\n"
    (problem,) = reused_numbers_problems(again, [numbers_of(shown)])
    assert "exactly the numbers of the example" in problem
    new = "def solution():\n    return bmi(weight_kg=64, height_m=1.7) + 3\n"
    assert reused_numbers_problems(new, [numbers_of(shown)]) == []
    assert reused_numbers_problems("def solution():\n    return 3\n", [frozenset({3.0})]) == []


# -- what a program passes to a pack's functions ---------------------------------------------------


def cockcroft_gault(age, weight_kg, creatinine_mg_dl, sex):
    return (140 - age) * weight_kg / (72 * creatinine_mg_dl) * (0.85 if sex == "female" else 1)


def bmi(weight_kg, height_m, rounding=1):
    return round(weight_kg / height_m**2, rounding)


FUNCTIONS = {"cockcroft_gault": cockcroft_gault, "bmi": bmi}
RANGES = {
    "weight_kg": (2, 350, "body weights in kg"),
    "height_m": (0.4, 2.5, "heights in metres"),
    "age": (18, 110, "adult ages in years"),
}
WORDS = {"female": ("woman", "she", "her"), "male": ("man", "he", "his")}


def test_calls_read_arguments_through_names_and_arithmetic():
    program = (
        "from nanoflux_medicine.calculators import bmi, cockcroft_gault\n"
        "def solution():\n"
        "    weight = 154 / 2.2\n"
        "    height = (5 * 12 + 8) * 0.0254\n"
        "    crcl = cockcroft_gault(68, weight, creatinine_mg_dl=1.5, sex='male')\n"
        "    for n in range(3):\n"
        "        crcl += n\n"
        "    return bmi(weight_kg=weight, height_m=height) + bmi(crcl, 1.8)\n"
    )
    first, second, third = calls_in(program, FUNCTIONS)
    assert (first.function, first.line) == ("cockcroft_gault", 5)
    assert first.arguments["weight_kg"] == pytest.approx(70)
    assert first.literal == {"age", "creatinine_mg_dl", "sex"}  # weight is computed
    assert second.arguments["height_m"] == pytest.approx(1.7272)
    assert third.arguments["weight_kg"] is UNKNOWN  # reassigned in a loop
    assert third.source == "bmi(crcl, 1.8)"
    # numbers squared through names beyond any a problem states are not computed
    # (and each name is folded once: four uses a line, 12 lines, would be 4**12 folds)
    squares = "x0 = 10 ** 60\n" + "".join(f"x{n + 1} = x{n} * x{n}\n" for n in range(30))
    (huge,) = calls_in(squares + "bmi(x30, 1.8)", FUNCTIONS)
    assert huge.arguments["weight_kg"] is UNKNOWN
    sums = "x0 = 1\n" + "".join(f"x{n + 1} = x{n} + x{n} - x{n} * x{n}\n" for n in range(12))
    (wide,) = calls_in(sums + "bmi(x12, 1.8)", FUNCTIONS)
    assert wide.arguments["weight_kg"] == 1
    # a call the signature refuses is the run's to report; a broken program has none
    assert calls_in("bmi(1, 2, 3, 4)", FUNCTIONS) == []
    assert calls_in("def solution(:", FUNCTIONS) == []


def test_an_argument_must_be_stated_named_and_in_range():
    text = "A 68-year-old man weighs 80 kg; his creatinine is 1.5 mg/dL. CrCl?"
    right = "cockcroft_gault(age=68, weight_kg=80, creatinine_mg_dl=1.5, sex='male')"
    assert argument_problems(text, calls_in(right, FUNCTIONS), RANGES, words=WORDS) == []
    wrong = "cockcroft_gault(age=68, weight_kg=80, creatinine_mg_dl=1.2, sex='female')"
    problems = argument_problems(text, calls_in(wrong, FUNCTIONS), RANGES, words=WORDS)
    assert problems == [
        "line 1: cockcroft_gault() takes creatinine_mg_dl=1.2, which the problem does not state",
        "line 1: cockcroft_gault() takes sex='female', which the problem does not say",
    ]
    # "man" is not "woman": a word is named on its own
    assert argument_problems(
        "A woman, 68, 80 kg, creatinine 1.5 mg/dL.", calls_in(right, FUNCTIONS), RANGES, words=WORDS
    ) == ["line 1: cockcroft_gault() takes sex='male', which the problem does not say"]
    centimetres = "bmi(weight_kg=80, height_m=175)"
    (problem,) = argument_problems("80 kg, 175 cm tall", calls_in(centimetres, FUNCTIONS), RANGES)
    assert problem == "line 1: bmi() takes height_m=175, outside 0.4 to 2.5 (heights in metres)"
    # a default written out need not be stated; a value computed from stated ones must be
    # in range, but is not itself stated
    assert (
        argument_problems(
            "80 kg, 175 cm", calls_in("bmi(80, 175 / 100, rounding=1)", FUNCTIONS), RANGES
        )
        == []
    )


# -- what a generator builds is shown --------------------------------------------------------------


def dna(seed, length):
    if not 1 <= length <= 100:
        raise ValueError(f"length {length} is not 1 to 100")
    digest = hashlib.sha256(str(seed).encode()).hexdigest()
    return "".join("ACGT"[int(c, 16) % 4] for c in digest)[:length]


def test_what_a_generator_builds_must_be_shown_verbatim():
    program = "def solution():\n    seq = dna(seed=17, length=12)\n    return seq.count('G')\n"
    built = dna(17, 12)
    (problem,) = unshown_problems("How many G in ACGT?", program, {"dna": dna})
    assert problem == (
        f"the problem must show {built}, which dna(seed=17, length=12) builds: write it "
        "there letter for letter, in place of what you wrote for it"
    )
    spaced = " ".join([built[:6], built[6:].lower()])
    assert unshown_problems(f"How many G in 5'-{spaced}-3'?", program, {"dna": dna}) == []
    unknown = "def solution():\n    n = len('abc') * 4\n    return dna(seed=n, length=12)\n"
    (problem,) = unshown_problems("Any", unknown, {"dna": dna})
    assert "must be called with numbers written in the program" in problem
    (problem,) = unshown_problems("Any", "dna(seed=1, length=500)", {"dna": dna})
    assert problem == "line 1: dna(seed=1, length=500) fails: length 500 is not 1 to 100"
    assert unshown_problems("Any", None, {"dna": dna}) == []


# -- seed problems with their programs -------------------------------------------------------------


def test_jsonl_benchmark_reads_a_program_where_a_line_has_one(tmp_path):
    load = jsonl_benchmark("units", question="q", answer="a", program="program")
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        '{"q": "5 km in m?", "a": 5000, "program": "def solution():\\n    return 5 * 1000\\n"}\n'
        '{"q": "2 m in cm?", "a": 200}\n'
        '{"q": "3 m in cm?", "a": 300, "program": ""}\n'
    )
    first, second = itertools.islice(load(seeds), 2)
    assert first.program == "def solution():\n    return 5 * 1000\n"
    assert second.program is None
    with pytest.raises(DataFormatError, match=r"seeds.jsonl:3: field 'program' is a str"):
        list(load(seeds))


# -- a domain declares them ---------------------------------------------------------------------


def test_a_code_first_screen_composes_what_a_domain_declares(tmp_path):
    from nanoflux.kit import CodeFirstScreen
    from nanoflux.kit.stated import REUSED
    from nanoflux.records import Question

    seeds = tmp_path / "seeds.jsonl"
    program = "def solution():\n    return bmi(81, 1.8) + len(dna(seed=3, length=8))\n"
    seeds.write_text(json.dumps({"question": "q", "answer": 1, "program": program}) + "\n")
    screen = CodeFirstScreen(
        constants={1},
        functions=FUNCTIONS,
        ranges=RANGES,
        generators={"dna": dna},
        seeds=str(seeds),
        decimals=1,
        exact="round it",
    )

    def screened(text, program, answer="2"):
        return screen(
            Question(
                text=text,
                domain="x",
                hops=2,
                skill="s",
                reference_answer=answer,
                solution_steps=["s"],
                program=program,
            )
        )

    built = dna(3, 8)
    assert screened(f"81 kg, 1.8 m; {built}", program) == [REUSED]
    assert screened(f"81 kg, 1.8 m; {built}", program.replace("1.8", "1.9")) == [
        "the program uses 1.9, which the problem does not state: the problem must give every "
        "number its solution needs",
        "line 2: bmi() takes height_m=1.9, which the problem does not state",
    ]
    (unshown, uneven) = screened("81 kg, 1.9 m", program.replace("1.8", "1.9"), "2.25")
    assert unshown.startswith(f"the problem must show {built}, which dna(seed=3, length=8)")
    assert uneven.endswith("does not come out even: round it")
    assert screened("Anything", None, "-2.2222") == []


BAKERY = (
    "A bakery sells croissants every 15 minutes for $3, and muffins every 20 minutes for "
    "$4. This bakery is open from 8 am until 10 pm. How much does the bakery earn selling "
    "croissants and muffins per week?"
)
BAKERY_PROGRAM = """def solution():
    hours = HOURS
    minutes = hours * 60
    croissants = minutes / 15 * 3
    muffins = minutes / 20 * 4
    return (croissants + muffins) * 7"""


@pytest.mark.parametrize(
    ("hours", "missing"), [("12", [12.0]), ("14", []), ("22 - 8", []), ("(22 - 8) * 1", [])]
)
def test_between_times_of_day_the_hours_are_stated_and_12_is_not_a_readers(hours, missing):
    """Accepted in a quick start: a bakery "open from 8 am until 10 pm", 12 hours in both
    the program and the blind solve (it is 14)."""
    from nanoflux.kit.stated import unstated_numbers

    program = BAKERY_PROGRAM.replace("HOURS", hours)
    assert unstated_numbers(BAKERY, program) == missing


def test_times_of_day_state_their_24_hour_numbers_and_the_span_between():
    from nanoflux.kit.stated import clock_numbers

    assert clock_numbers("opens at 9:30 a.m. and closes at 6 p.m.") == {9.5, 18.0, 8.5, 510.0}
    assert clock_numbers("from 10 pm to 2 am") == {22.0, 2.0, 4.0, 240.0}
    assert clock_numbers("no times here, 12 hours a day") == set()


def test_without_two_times_of_day_12_and_24_are_still_a_readers():
    from nanoflux.kit.stated import unstated_numbers

    text = "He works 5 hours a day at $5 an hour, starting at 8 am. How much in a year?"
    assert unstated_numbers(text, "def solution():\n    return 5 * 5 * 365 + 12 * 0") == []
