"""The math loaders on small files written in the public releases' formats."""

from __future__ import annotations

import json
import time

import pytest
from nanoflux_math.loaders import load_gsm8k, load_gsm_hard, load_math

from nanoflux.errors import DataFormatError

# The first item of GSM8K's train split, as the release ships it (openai/grade-school-math).
GSM8K_ROW = {
    "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as "
    "many clips in May. How many clips did Natalia sell altogether in April and May?",
    "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72",
}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def test_gsm8k(tmp_path):
    path = write_jsonl(
        tmp_path / "test.jsonl", [GSM8K_ROW, {**GSM8K_ROW, "answer": "x\n#### 1,000"}]
    )
    items = list(load_gsm8k(path))
    assert [i.answer for i in items] == ["72", "1000"]
    assert items[0].question.startswith("Natalia sold clips")
    # the typed fields, filled here: the solution as a reader sees it, and the program
    # its calculator annotations spell (see worked_programs)
    assert items[0].solution == (
        "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in "
        "April and May."
    )
    assert items[0].program.startswith("def solution():\n")
    assert items[0].meta == {}
    assert (items[1].solution, items[1].program) == ("x", None)


# 40 annotations, each squaring the result of the one before (1.3 kB): evaluated as
# exact integers, 24 of them took more than a minute and each one more tripled it
SQUARINGS = "First <<99999*99999=7>>7.\n" + "".join("Then <<7*7=7>>7.\n" for _ in range(39))


@pytest.mark.parametrize(
    ("steps", "answer"),
    [
        (SQUARINGS, "7"),
        # an operand of 400 digits: no float holds it (was an unexpected OverflowError)
        (f"First <<{'9' * 400}*2=5>>5.\nThen <<5+1=6>>6.\n", "6"),
        # it recomputes its answer, but past MAX_VALUE, where floats stop holding integers
        ("First <<100000000*100000000=5>>5.\nThen <<5+1=6>>6.\n", "10000000000000001"),
    ],
    ids=["40 squarings", "400 digits", "past 10**15"],
)
def test_arithmetic_too_large_for_a_seed_program_gives_none_at_once(tmp_path, steps, answer):
    bomb = {"question": "q", "answer": f"{steps}#### {answer}"}
    path = write_jsonl(tmp_path / "bomb.jsonl", [GSM8K_ROW, bomb])
    started = time.perf_counter()
    items = list(load_gsm8k(path))
    assert time.perf_counter() - started < 1
    # the item loads, its solution and answer as written; only the program is not read
    assert (items[1].answer, items[1].program) == (answer, None)
    assert items[1].solution.startswith("First")
    assert items[0].program is not None


def test_gsm8k_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GSM8K_ROW) + "\n{not json\n", "utf-8")
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: not valid JSON"):
        list(load_gsm8k(path))
    write_jsonl(path, [GSM8K_ROW, {"question": "q", "answer": "no final answer"}])
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: .*####"):
        list(load_gsm8k(path))
    write_jsonl(path, [{"question": "q"}])
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:1: field 'answer' is missing"):
        list(load_gsm8k(path))


def test_gsm_hard(tmp_path):
    # reasoning-machines/gsm-hard: the GSM8K question with larger numbers, a PAL program
    row = {
        "input": "Janet's ducks lay 16 eggs per day. She eats three for breakfast every "
        "morning and bakes muffins for her friends every day with 4933828. She sells the "
        "remainder at the farmers' market daily for $2 per fresh duck egg. How much in "
        "dollars does she make every day at the farmers' market?",
        "code": "def solution():\n    return (16 - 3 - 4933828) * 2\n",
        "target": -9867630.0,
    }
    items = list(load_gsm_hard(write_jsonl(tmp_path / "gsmhard.jsonl", [row])))
    assert items[0].answer == "-9867630"  # (16 - 3 - 4933828) * 2
    assert "def solution" in items[0].meta["code"]
    with pytest.raises(DataFormatError, match=r"gsmhard\.jsonl:1: field 'target'"):
        list(load_gsm_hard(write_jsonl(tmp_path / "gsmhard.jsonl", [{"input": "q", "code": ""}])))


MATH_PROBLEM = {
    "problem": "What is the value of $\\sqrt{36 \\times \\sqrt{16}}$?",
    "level": "Level 1",
    "type": "Prealgebra",
    "solution": "We have $\\sqrt{36 \\times \\sqrt{16}} = \\sqrt{36 \\times 4} = \\sqrt{144} "
    "= \\boxed{12}$.",
}


def test_math_folder_single_file_and_jsonl(tmp_path):
    folder = tmp_path / "MATH" / "test" / "prealgebra"
    folder.mkdir(parents=True)
    (folder / "1.json").write_text(json.dumps(MATH_PROBLEM), "utf-8")
    (folder / "2.json").write_text(
        json.dumps({**MATH_PROBLEM, "solution": "So $x=\\boxed{\\frac{1}{2}}$."}), "utf-8"
    )
    items = list(load_math(tmp_path / "MATH"))
    assert [i.answer for i in items] == ["12", "\\frac{1}{2}"]
    assert items[0].id == "math-test/prealgebra/1"
    assert items[0].meta == {"level": "Level 1", "type": "Prealgebra"}
    assert items[0].solution == MATH_PROBLEM["solution"]
    assert [i.answer for i in load_math(folder / "1.json")] == ["12"]
    jsonl = write_jsonl(tmp_path / "math.jsonl", [MATH_PROBLEM, MATH_PROBLEM])
    assert len(list(load_math(jsonl))) == 2


def test_math_errors(tmp_path):
    folder = tmp_path / "MATH"
    folder.mkdir()
    (folder / "1.json").write_text(json.dumps(MATH_PROBLEM), "utf-8")
    (folder / "2.json").write_text(json.dumps({**MATH_PROBLEM, "solution": "no box"}), "utf-8")
    with pytest.raises(DataFormatError, match=r"2\.json: .*boxed"):
        list(load_math(folder))
    (folder / "2.json").write_text("{", "utf-8")
    with pytest.raises(DataFormatError, match=r"2\.json: not valid JSON"):
        list(load_math(folder))
    with pytest.raises(DataFormatError, match="no such file"):
        list(load_math(tmp_path / "missing.json"))
