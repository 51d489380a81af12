"""A worked solution's arithmetic must hold, and its answer reach the reference at the
reference's precision: the two medicine examples a yield run accepted had neither.

Both questions, programs and blind solves below are those of the run, verbatim."""

from __future__ import annotations

import json
import sys
import types

import pytest
from nanoflux_medicine import MedicineDomain
from nanoflux_medicine.tools import arithmetic

from nanoflux.config import validate_config
from nanoflux.default_plugins.scripted import (
    attacking,
    defender_reply,
    judge_reply,
    program_reply,
    solving_blind,
)
from nanoflux.engine import run
from nanoflux.plugins import PluginHost
from nanoflux.records import Question, ToolEvidence
from nanoflux.testing import JudgeToolContract, needs_sandbox

QTC = {
    "text": (
        "A 56-year-old woman's ECG shows a QT interval of 380 ms at a heart rate of 80 beats "
        "per minute. By Bazett's formula, QTc is QT divided by the square root of the RR "
        "interval in seconds (60 divided by the heart rate). What is her QTc in ms, rounded "
        "to the nearest whole number?"
    ),
    "program": (
        "def solution():\n"
        "    corrected = qtc(qt_ms=380, heart_rate_bpm=80, formula='bazett')\n"
        "    return round(corrected)\n"
    ),
    "reference": "439",
    "solution": """Step 1: Calculate the RR interval in seconds.
RR interval = 60 / heart rate = 60 / 80 = 0.75 seconds

Step 2: Calculate the square root of the RR interval.
√(0.75) ≈ 0.866

Step 3: Divide the QT interval by the square root of the RR interval.
QTc = QT / √(RR) = 380 / 0.866 ≈ 440.7

Step 4: Round the result to the nearest whole number.
QTc ≈ 441""",
}
CLEARANCE = {
    "text": (
        "A 55-year-old woman weighing 72 kg has a serum creatinine of 1.9 mg/dL. Her drug's "
        "label halves the dose when creatinine clearance by Cockcroft-Gault, (140 - age) x "
        "weight in kg / (72 x creatinine in mg/dL) times 0.85 for a woman, is below 50 "
        "mL/min. By how many mL/min is her clearance below 50? Round to one decimal."
    ),
    "program": (
        "def solution():\n"
        "    clearance = cockcroft_gault(age=55, weight_kg=72, creatinine_mg_dl=1.9, "
        "sex='female')\n"
        "    gap = 50 - clearance\n"
        "    return round(gap, 1)\n"
    ),
    "reference": "12",  # round(11.97, 1) is 12.0, which the round writes as 12
    "solution": """Step 1: Calculate the Cockcroft-Gault creatinine clearance for the woman.
Age = 55
Weight = 72 kg
Creatinine = 1.9 mg/dL
Cockcroft-Gault formula = (140 - age) x weight in kg / (72 x creatinine in mg/dL) x 0.85
= (140 - 55) x 72 / (72 x 1.9) x 0.85
= 85 x 72 / (72 x 1.9) x 0.85
= 85 / 1.9 x 0.85
= 45.26 x 0.85
= 38.44 mL/min

Step 2: Determine how much below 50 mL/min her clearance is.
Clearance = 38.44 mL/min
Desired clearance = 50 mL/min
Difference = Desired clearance - Clearance
= 50 - 38.44
= 11.56 mL/min

Step 3: Round to one decimal.""",
}
QTC_RIGHT = QTC["solution"].replace("≈ 440.7", "≈ 438.8").replace("QTc ≈ 441", "QTc ≈ 439")


class TestArithmeticTool(JudgeToolContract):
    registered_as = "medicine.arithmetic"

    @pytest.fixture
    def tool(self):
        return arithmetic

    @pytest.fixture
    def cases(self):
        return [
            # 380 / 0.8660254 (√0.75, rounded on the line before) is 438.79, not 440.7
            ({"solution": QTC["solution"]}, "440.7: 380 / 0.866 is 438.79"),
            # 85 / 1.9 = 44.74, so 85 / 1.9 x 0.85 = 38.03: not 45.26 x 0.85 = 38.47
            ({"solution": CLEARANCE["solution"]}, "45.26 × 0.85: 85 / 1.9 × 0.85 is 38.03"),
            ({"solution": QTC_RIGHT}, None),
            # Cockcroft-Gault for a man of 68, 80 kg, creatinine 1.5: 72 x 80 / 108
            ({"solution": "(140 - 68) × 80 / (72 × 1.5) = 5760 / 108 = 53.3 mL/min"}, None),
        ]

    @pytest.fixture
    def applies_cases(self):
        question = _question(QTC, QTC["solution"])
        return [
            (question, {"solution": QTC["solution"]}),
            (question.model_copy(update={"solution": None}), {"solution": "s"}),
        ]


def _question(case, solution):
    return Question(
        text=case["text"],
        domain="medicine",
        hops=2,
        skill="cardiovascular",
        reference_answer=case["reference"],
        solution_steps=["s"],
        program=case["program"],
        solution=solution,
    )


@pytest.fixture(scope="module")
def medicine_host():
    return PluginHost.load(allow=["medicine"])


def _arithmetic_evidence(host, question):
    """What the Judge gathers from medicine.arithmetic on ``question``."""
    from nanoflux.engine.judge import consulted_tools, gather_evidence

    def call(tool_id, args):
        if tool_id == "medicine.python":  # the program's run is not this test's business
            return ToolEvidence(tool=tool_id, args=args, result={"ok": False, "error": "skip"})
        return ToolEvidence(tool=tool_id, args=args, result=host.tools.get(tool_id).call(args))

    consulted = consulted_tools(host, "medicine")
    gathered = gather_evidence(MedicineDomain(), question, call, consulted)
    (evidence,) = [e for e in gathered.evidence if e.tool == "medicine.arithmetic"]
    return gathered, evidence


@pytest.mark.parametrize("case", [QTC, CLEARANCE], ids=["qtc", "cockcroft-gault"])
def test_the_accepted_examples_solutions_contradict_their_references(medicine_host, case):
    gathered, evidence = _arithmetic_evidence(medicine_host, _question(case, case["solution"]))
    assert evidence.supports_reference is False
    assert gathered.verified is False  # the attempt is rejected as unverified


def test_a_solution_whose_arithmetic_holds_is_not_contradicted(medicine_host):
    gathered, evidence = _arithmetic_evidence(medicine_host, _question(QTC, QTC_RIGHT))
    assert evidence.supports_reference is None and gathered.verified is not False


def test_a_solve_that_ends_at_441_does_not_reach_a_qtc_of_439():
    domain = MedicineDomain()
    assert not domain.check_answer("439", "441")  # within 1 %, which let it through
    assert domain.check_answer("439", "438.8") and domain.check_answer("439", "439.4 ms")
    assert not domain.check_answer("12.0", "11.56")  # the reference's one decimal
    assert domain.check_answer("12.0", "11.97") and domain.check_answer("12.0", "12")


# -- a round, as the yield run played it, with scripted models --------------------------------


def _round(tmp_path, monkeypatch, case, solution):
    """The first candidate of a medicine round whose Attacker writes ``case`` and whose
    Judge, solving it blind, writes ``solution`` and reaches the reference."""

    def model(request):
        if attacking(request):
            return program_reply(case["text"], case["program"])
        if solving_blind(request):
            return defender_reply(case["reference"], solution)
        if request.json_schema is None:
            return defender_reply("100", "A quick guess.")
        return judge_reply()

    module = types.ModuleType("medicine_arithmetic_models")
    module.model = model
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))
    scripted = {"spec": f"scripted:{module.__name__}:model"}
    config = validate_config(
        {
            "domain": "medicine",
            "attacker": scripted,
            "defender": scripted,
            "judge": scripted,
            "target": 1,
            "out": str(tmp_path / "run"),
            "budget": {"max_rounds": 1},
            "novelty": {"embedder": "hashing", "store": "memory"},
            "acceptance": {"hops_min": 1},
        }
    )
    result = run(config, PluginHost.load(allow=["medicine"]))
    return json.loads((result.out_dir / "candidates.jsonl").open().readline())


@needs_sandbox
def test_a_round_rejects_the_qtc_example_as_unverified(tmp_path, monkeypatch):
    candidate = _round(tmp_path, monkeypatch, QTC, QTC["solution"])
    assert (candidate["decision"], candidate["reason"]) == ("rejected", "unverified")
    notes = [e["note"] for e in candidate["findings"]["evidence"]]
    assert any("440.7: 380 / 0.866 is 438.79" in note for note in notes), notes


@needs_sandbox
def test_a_round_accepts_the_qtc_example_with_its_arithmetic_right(tmp_path, monkeypatch):
    candidate = _round(tmp_path, monkeypatch, QTC, QTC_RIGHT)
    assert candidate["decision"] == "accepted", candidate["reason"]
    assert candidate["question"]["solution"].startswith(QTC_RIGHT)
