"""Code-first medicine: the seed vignettes, and the screen of a vignette and its program."""

from __future__ import annotations

from nanoflux_medicine import MedicineDomain

from nanoflux.engine.programs import computing_lines
from nanoflux.records import Question

DOMAIN = MedicineDomain()


def vignette(text: str, program: str, answer: str = "42") -> Question:
    return DOMAIN.example_question().model_copy(
        update={"text": text, "program": program, "reference_answer": answer}
    )


BMI = (
    "from nanoflux_medicine.calculators import bmi\n\n"
    "def solution():\n    value = {}\n    return round(value, 1)\n"
)
MAN = "A 40-year-old man weighs {} kg and is 1.75 m tall. What is his BMI in kg/m²{}?"


def test_a_calculator_argument_the_vignette_never_states_is_found():
    # the 1.5B Attacker copied the old prompt's example into a question without a height
    program = BMI.format("bmi(weight_kg=70, height_m=1.75)")
    problems = DOMAIN.screen(
        vignette("A 70 kg person is weighed on Earth. What is their BMI?", program, "22.9")
    )
    assert any("1.75, which the problem does not state" in p for p in problems), problems
    stated = MAN.format(70, ", to one decimal")
    assert DOMAIN.screen(vignette(stated, program, "22.9")) == []


def test_an_argument_outside_what_a_patient_can_have_is_found():
    program = BMI.format("bmi(weight_kg=750, height_m=1.75)")
    text = MAN.format(750, ", to one decimal")
    (problem,) = DOMAIN.screen(vignette(text, program, "244.9"))
    assert problem == (
        "line 4: bmi() takes weight_kg=750, outside 2 to 300 (a patient's weight in kg)"
    )


def test_sex_and_formula_must_be_said_in_the_vignette():
    program = (
        "from nanoflux_medicine.calculators import cockcroft_gault\n\n"
        "def solution():\n"
        "    clearance = cockcroft_gault(\n"
        "        age=70, weight_kg=60, creatinine_mg_dl=1.2, sex='female')\n"
        "    return round(clearance)\n"
    )
    text = "A 70-year-old {} weighs 60 kg; creatinine 1.2 mg/dL. CrCl by Cockcroft-Gault, mL/min?"
    assert DOMAIN.screen(vignette(text.format("woman"), program, "41")) == []
    (problem,) = DOMAIN.screen(vignette(text.format("patient"), program, "41"))
    assert "sex='female', which the problem does not say" in problem


def test_an_unrounded_value_is_found():
    text = MAN.format(70, "")
    program = BMI.format("bmi(weight_kg=70, height_m=1.75)").replace("round(value, 1)", "value * 1")
    (problem,) = DOMAIN.screen(vignette(text, program, "22.857143"))
    assert problem.endswith("the question must say how to round, and the program round it so")


def test_the_example_is_code_first_and_passes_the_screen():
    question = DOMAIN.example_question()
    assert DOMAIN.program_tool == "medicine.python"
    assert DOMAIN.screen(question) == []
    assert len(computing_lines(question.program)) == 2
