"""The medicine pack against the domain contract, its checker, verification and loaders."""

from __future__ import annotations

import json
import shutil

import pytest
from nanoflux_medicine import MedicineDomain
from nanoflux_medicine.loaders import load_medmcqa, load_medmcqa_hf, load_medqa, load_pubmedqa

from nanoflux.errors import DataFormatError
from nanoflux.plugins import PluginHost
from nanoflux.records import Question, ToolEvidence
from nanoflux.testing import DomainContract

needs_sandbox = pytest.mark.skipif(
    shutil.which("bwrap") is None,  # installed by setup: then it must work
    reason="sandbox unavailable",
)


@pytest.fixture(scope="module")
def medicine_host():
    return PluginHost.load(allow=["medicine"])


@needs_sandbox
class TestMedicineDomain(DomainContract):
    registered_as = "medicine"

    @pytest.fixture
    def domain(self):
        return MedicineDomain()

    @pytest.fixture
    def host(self, medicine_host):
        return medicine_host

    @pytest.fixture
    def wrong_answer(self):
        return "45"  # the female factor applied to a man: 53.3 x 0.85


def _caller(host):
    def call_tool(tool_id, args):
        return ToolEvidence(tool=tool_id, args=args, result=host.tools.get(tool_id).call(args))

    return call_tool


def _gathered(host, question):
    """What the Judge gathers: the pack's verify(), then the tools that apply to the question."""
    from nanoflux.engine.judge import consulted_tools, gather_evidence

    consulted = consulted_tools(host, "medicine")
    return gather_evidence(MedicineDomain(), question, _caller(host), consulted)


def _question(text, answer, explanation=""):
    return Question(
        text=text,
        domain="medicine",
        hops=2,
        skill="body_size_and_dosing",
        reference_answer=answer,
        solution_steps=["s"],
        explanation=explanation,
    )


def test_direct_recomputation(medicine_host):
    domain = MedicineDomain()
    text = "A man weighs 70 kg and is 175 cm tall. What is his BMI?"
    assert domain.verify(_question(text, "22.9"), _caller(medicine_host)).verified is True
    assert domain.verify(_question(text, "25.1"), _caller(medicine_host)).verified is False
    gap = "Na 140 mEq/L, Cl 105 mEq/L, HCO3 24 mEq/L. What is the anion gap?"
    assert domain.verify(_question(gap, "11"), _caller(medicine_host)).verified is True
    bp = "Her blood pressure is 120/80 mmHg. What is her mean arterial pressure?"
    assert domain.verify(_question(bp, "93"), _caller(medicine_host)).verified is True


def test_an_unsafe_reference_is_contradicted(medicine_host):
    question = _question(
        "A 70 kg adult has a fever. What daily acetaminophen dose do you recommend?",
        "8 g of acetaminophen per day",
        "Higher doses work faster.",
    )
    verification = _gathered(medicine_host, question)
    assert verification.verified is False
    (screen,) = [e for e in verification.evidence if e.tool == "medicine.safety_screen"]
    assert "UNSAFE" in screen.note


def test_the_calculators_declare_when_they_apply_and_verify_names_no_tool(medicine_host):
    from nanoflux_medicine.domain import CALCULATIONS

    assert {t.id for t in CALCULATIONS} == {"medicine.bmi", "medicine.anion_gap", "medicine.map"}
    # two calculations asked: each can confirm, neither alone contradicts
    text = "A man weighs 70 kg and is 175 cm tall; his blood pressure is 120/80 mmHg. BMI? MAP?"
    verification = _gathered(medicine_host, _question(text, "22.9"))
    supports = {e.tool: e.supports_reference for e in verification.evidence}
    assert supports == {
        "medicine.bmi": True,
        "medicine.map": None,
        "medicine.safety_screen": None,
        "medicine.arithmetic": None,  # the steps ("s") hold no calculation
    }
    # asked but its inputs not stated: the tool does not apply, and nothing is called
    called = []

    def call_tool(tool_id, args):
        called.append(tool_id)
        return _caller(medicine_host)(tool_id, args)

    question = _question("What is the anion gap of this patient?", "12")
    assert MedicineDomain().verify(question, call_tool).evidence == [] and called == []


CHECKS_SAME = [
    ("53", "53 mL/min"),
    ("68.6", "68.63"),  # same to the reference's one decimal
    ("5.55", "5.5507"),  # 100 mg/dL glucose by 18.016: 5.55 to two decimals
    ("439", "438.8"),  # a QTc to the nearest ms
    ("57.1%", "0.5712"),  # a percentage and its fraction
    ("yes", "Yes, the trial shows a benefit."),
    ("maybe", "MAYBE"),
]
CHECKS_DIFFERENT = [
    ("53", "45"),
    ("yes", "no"),
    ("11", "15"),
    ("439", "441"),  # within 1 %, but not the QTc to the nearest ms
    ("5.55", "5.56"),  # 100 mg/dL glucose by 18, not by 18.016: within 1 %
    ("5.55", "5.5"),  # less precise than the reference
]


@pytest.mark.parametrize(("a", "b"), CHECKS_SAME)
def test_checker_same(a, b):
    assert MedicineDomain().check_answer(a, b)


@pytest.mark.parametrize(("a", "b"), CHECKS_DIFFERENT)
def test_checker_different(a, b):
    assert not MedicineDomain().check_answer(a, b)


def test_checker_choices():
    choices = ["Metformin", "Insulin glargine", "Glipizide", "Sitagliptin"]
    domain = MedicineDomain()
    assert domain.check_answer("A", "a", choices=choices)
    assert domain.check_answer("A", "metformin", choices=choices)
    assert domain.check_answer("A", "(A) Metformin", choices=choices)
    assert not domain.check_answer("A", "B", choices=choices)


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


MEDQA_ROW = {
    "question": "A 45-year-old man has a fasting glucose of 140 mg/dL twice. What is the "
    "first-line drug?",
    "answer": "Metformin",
    "options": {"A": "Metformin", "B": "Insulin glargine", "C": "Glipizide", "D": "Sitagliptin"},
    "meta_info": "step2&3",
    "answer_idx": "A",
}


def test_medqa(tmp_path):
    (item,) = load_medqa(_jsonl(tmp_path / "test.jsonl", [MEDQA_ROW]))
    assert item.answer == "A" and item.choices[0] == "Metformin"
    assert item.meta["answer_text"] == "Metformin"
    with pytest.raises(DataFormatError, match=r"test\.jsonl:2: answer_idx 'E'"):
        list(
            load_medqa(
                _jsonl(tmp_path / "test.jsonl", [MEDQA_ROW, {**MEDQA_ROW, "answer_idx": "E"}])
            )
        )


MEDMCQA_ROW = {
    "id": "e9ad821a-c438-4965-9f77-760819dfa155",
    "question": "Which vitamin is supplied from only animal source?",
    "opa": "Vitamin C",
    "opb": "Vitamin B7",
    "opc": "Vitamin B12",
    "opd": "Vitamin D",
    "cop": 3,
    "choice_type": "single",
    "exp": "Vitamin B12 is found only in animal foods.",
    "subject_name": "Biochemistry",
    "topic_name": "Vitamins",
}


def test_medmcqa_is_one_based_and_the_hf_export_zero_based(tmp_path):
    (item,) = load_medmcqa(_jsonl(tmp_path / "dev.jsonl", [MEDMCQA_ROW]))
    assert item.answer == "C" and item.meta["answer_text"] == "Vitamin B12"
    (item,) = load_medmcqa_hf(_jsonl(tmp_path / "hf.jsonl", [{**MEDMCQA_ROW, "cop": 2}]))
    assert item.answer == "C"
    with pytest.raises(DataFormatError) as error:
        list(load_medmcqa(_jsonl(tmp_path / "dev.jsonl", [{**MEDMCQA_ROW, "cop": 0}])))
    assert "medmcqa-hf" in str(error.value) and "dev.jsonl:1" in str(error.value)
    with pytest.raises(DataFormatError, match="no answer"):
        list(load_medmcqa(_jsonl(tmp_path / "test.jsonl", [{**MEDMCQA_ROW, "cop": None}])))


PUBMEDQA = {
    "21645374": {
        "QUESTION": "Do mitochondria play a role in remodelling lace plant leaves during "
        "programmed cell death?",
        "CONTEXTS": [
            "Programmed cell death (PCD) is the regulated death of cells.",
            "The lace plant produces perforations in its leaves through PCD.",
        ],
        "LABELS": ["BACKGROUND", "RESULTS"],
        "final_decision": "yes",
        "LONG_ANSWER": "Results depicted mitochondrial dynamics in vivo as PCD progresses.",
    }
}


def test_pubmedqa(tmp_path):
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps(PUBMEDQA), "utf-8")
    (item,) = load_pubmedqa(path)
    assert item.answer == "yes" and item.choices == ["yes", "no", "maybe"]
    assert item.question.startswith("Context: Programmed cell death")
    assert item.meta["question_only"].startswith("Do mitochondria")
    bad = {"1": {**PUBMEDQA["21645374"], "final_decision": "perhaps"}}
    path.write_text(json.dumps(bad), "utf-8")
    with pytest.raises(DataFormatError, match="PMID 1: final_decision 'perhaps'"):
        list(load_pubmedqa(path))
