"""Answer extraction on real replies: Qwen2.5-Coder-0.5B-Instruct (Q4 GGUF, greedy) to
GSM8K dev items and to short probes, recorded verbatim in tests/data. Each case names the
answer the reply gives and how it was read; a fallback reading must say it is one."""

import json
from pathlib import Path

import pytest

from nanoflux.answers import boxed_spans, last_boxed
from nanoflux.evaluation import extract_answer
from nanoflux.evaluation.extraction import numeric_answer

REPLIES = Path(__file__).parent / "data" / "qwen2.5-coder-0.5b-replies.jsonl"
CASES = [json.loads(line) for line in REPLIES.read_text("utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_real_replies(case):
    found = extract_answer(case["reply"], choices=case["choices"])
    assert (found.answer, found.method) == (case["answer"], case["method"])
    assert found.fallback == (case["method"] in ("last_number", "last_choice"))


def test_the_math_checker_agrees_with_the_extracted_answers():
    from nanoflux_math import MathDomain

    domain = MathDomain()
    by_case = {c["case"]: c for c in CASES}
    reply = by_case["boxed beats the thousands-separated number in the steps"]["reply"]
    assert domain.check_answer("375,000", extract_answer(reply).answer)
    assert domain.check_answer("0.25", "25%")
    assert domain.check_answer("7/12", "\\frac{7}{12}")
    assert domain.check_answer("-7", "-7") and not domain.check_answer("7", "-7")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        # the shapes around a number models write, one per line of a marker
        ("$1,250.50", "1250.50"),
        ("−3 degrees", "-3"),  # the Unicode minus
        ("-$5", "-5"),
        ("45 percent of them", "45%"),
        ("3/4 cup", "3/4"),
        ("16 - 3 = 13 apples", "13"),
        ("**18**", "18"),
        ("\\(\\boxed{18 \\text{ dollars}}\\)", "18"),
        ("\\boxed{\\$1,080}", "1080"),
        ("\\dfrac{1}{2} of the cake", "\\dfrac{1}{2}"),
        ("X", None),  # an instruction's placeholder echoed back
    ],
)
def test_numeric_answer(text, answer):
    assert numeric_answer(text) == answer


def test_markers_and_their_order():
    # the last usable marker wins: models correct themselves
    assert extract_answer("The answer is 5.\nWait, recheck.\nFinal answer: 6").answer == "6"
    # a marker without a number is skipped, not taken as the answer
    found = extract_answer("Final answer: 42\nThe answer is correct because 6 * 7 = 42.")
    assert (found.answer, found.method) == ("42", "answer_is")
    assert extract_answer("x\n#### 1,234").answer == "1234"
    # a markdown heading is not GSM8K's final-answer line
    assert extract_answer("#### Step 2: add\n3 + 4 = 7").method == "last_number"
    assert extract_answer("**Answer:** 12 eggs").answer == "12"
    assert extract_answer("Final Answer\n\\[\n\\boxed{9}\n\\]").answer == "9"
    assert extract_answer("no digits here").answer is None
    choices = ["London", "Paris", "Rome"]
    assert extract_answer("The answer is Paris.", choices=choices).answer == "B"
    assert extract_answer("Final answer: (C)", choices=choices).answer == "C"
    assert extract_answer("Final answer: E", choices=choices).answer is None


def test_boxed_spans_balance_nested_braces():
    text = "first \\boxed{1} then \\boxed{\\frac{\\sqrt{3}}{2}} and \\boxed{unclosed"
    assert [body for _, body in boxed_spans(text)] == ["1", "\\frac{\\sqrt{3}}{2}"]
    assert last_boxed("\\boxed 5$") == "5"
    assert last_boxed("nothing") is None


def test_a_choice_letter_past_e_names_its_choice():
    from nanoflux.answers import choice_index

    choices = [f"option {n}" for n in range(11)]
    assert choice_index("K", choices) == 10
    assert choice_index("(k)", choices) == 10
    assert choice_index("L", choices) is None  # the question has no twelfth choice
    assert choice_index("F", choices[:5]) is None


def test_boxes_are_read_in_one_pass_whatever_the_reply_holds():
    import time

    from nanoflux.answers import boxed_spans, last_boxed

    assert last_boxed(r"so \boxed{\frac{1}{2}} and \boxed{7}") == "7"
    assert last_boxed(r"\boxed{3} then \boxed{unclosed") == "3"
    assert last_boxed(r"\boxed 5") == "5"
    bomb = r"\boxed{" * 50_000  # quadratic reading took minutes here; a hang guard only
    started = time.monotonic()
    assert boxed_spans(bomb) == []
    assert time.monotonic() - started < 10


def test_an_options_value_names_the_option_when_one_option_holds_it():
    doses = ["2040 mg", "2000 mg", "975 mg", "1020 mg"]
    assert extract_answer("65 x 15 = 975.\nFinal answer: 975", choices=doses).answer == "C"
    assert extract_answer("Final answer: 975 mg", choices=doses).answer == "C"
    assert extract_answer("Final answer: 1500", choices=doses).answer is None  # no option
    # a value two options hold at its precision names neither
    calcium = ["9.0 mg/dL", "9.4 mg/dL", "7.6 mg/dL", "6.2 mg/dL"]
    assert extract_answer("Final answer: 9", choices=calcium).answer is None
    assert extract_answer("Final answer: 9.4", choices=calcium).answer == "B"
