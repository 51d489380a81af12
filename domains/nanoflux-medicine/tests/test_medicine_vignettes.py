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


def test_one_patient_is_one_sex_throughout():
    program = (
        "def solution():\n"
        "    rate = egfr_ckd_epi_2021(creatinine_mg_dl=0.8, age=67, sex='male')\n"
        "    return round(rate)\n"
    )
    # accepted by a yield run before this screen: "man", then "Her" and "she"
    text = (
        "A 67-year-old man has a serum creatinine of 0.8 mg/dL. What is {} eGFR by the "
        "CKD-EPI 2021 equation, in mL/min/1.73 m², rounded to the nearest whole number?"
    )
    problems = DOMAIN.screen(vignette(text.format("her"), program, "95"))
    assert problems == [
        "the program's patient is male (egfr_ckd_epi_2021(sex='male')), but the problem also "
        "says 'her': one patient, one sex throughout"
    ]
    assert DOMAIN.screen(vignette(text.format("his"), program, "95")) == []
    woman = text.replace("man has", "woman has").format("her")  # "woman" holds no "man"
    assert DOMAIN.screen(vignette(woman, program.replace("'male'", "'female'"), "73")) == []


def test_a_formula_with_rivals_is_named():
    program = (
        "def solution():\n"
        "    area = bsa_mosteller(height_cm=180, weight_kg=75)\n"
        "    index = 5.5 / area\n"
        "    return round(index, 2)\n"
    )
    # from a yield run: no word of which body-surface area, and the blind solve gave 10.00
    text = (
        "A 70-year-old man is 180 cm tall and weighs 75 kg; his cardiac output is 5.5 L/min. "
        "What is his cardiac index in L/min/m², rounded to two decimals?"
    )
    assert DOMAIN.screen(vignette(text, program, "2.84")) == [
        "the program calls bsa_mosteller(), but the problem never says it uses the Mosteller "
        "formula: name the formula, so that one answer is right"
    ]
    named = text.replace("L/min. ", "L/min, and his body-surface area is the Mosteller value. ")
    assert DOMAIN.screen(vignette(named, program, "2.84")) == []


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


def test_a_named_formula_is_computed_by_its_calculator():
    # seen from the 1.5B Attacker: a seed's 18 mg/dL per mmol/L changed to 19, in the text
    # and in the program, which the blind solve could then agree with
    text = (
        "A 59-year-old woman's fasting glucose is 245 mg/dL. Converting with 19 mg/dL per "
        "mmol/L, by how many mmol/L is it above 7.0 mmol/L? Round to one decimal."
    )
    by_hand = "def solution():\n    glucose = 245 / 19\n    return round(glucose - 7.0, 1)\n"
    (problem,) = DOMAIN.screen(vignette(text, by_hand, "5.9"))
    assert problem == (
        "the problem names what convert() computes: the program must call convert(), "
        "the pack's calculator, not work it out by hand"
    )
    calculated = by_hand.replace("245 / 19", "convert(245, 'mg/dL', 'mmol/L', 'glucose')")
    assert DOMAIN.screen(vignette(text, calculated, "6.6")) == []
    cockcroft = (
        "A 70-year-old man weighs 80 kg; creatinine 1.6 mg/dL. His clearance by "
        "Cockcroft-Gault, (140 - age) x weight / (72 x creatinine), in mL/min, to the nearest "
        "whole number?"
    )
    formula = "def solution():\n    value = (140 - 70) * 80 / (72 * 1.6)\n    return round(value)\n"
    assert "must call cockcroft_gault()" in DOMAIN.screen(vignette(cockcroft, formula, "49"))[0]


CALCIUM = (
    "A 60-year-old man has a total calcium of 7.8 mg/dL and a serum albumin of 2.3 g/dL. "
    "Corrected calcium adds {} mg/dL for each 1 g/dL of albumin below 4. What is his "
    "corrected calcium in mg/dL, rounded to one decimal?"
)
CALCIUM_PROGRAM = (
    "def solution():\n    value = corrected_calcium(calcium_mg_dl=7.8, albumin_g_dl=2.3)\n"
    "    return round(value, 1)\n"
)


def test_a_formula_stated_with_another_constant_than_its_calculators_is_found():
    # the 1.5B Attacker, told to change every number of a seed, changed 0.8 to 0.7
    problems = DOMAIN.screen(vignette(CALCIUM.format("0.7"), CALCIUM_PROGRAM, "9.2"))
    assert any(
        "states 0.7 mg/dl for each 1 g/dl, but corrected calcium adds 0.8" in p for p in problems
    )
    assert DOMAIN.screen(vignette(CALCIUM.format("0.8"), CALCIUM_PROGRAM, "9.2")) == []


def test_an_infusion_no_one_is_given_is_found():
    program = (
        "def solution():\n"
        "    mcg_per_min = {} * 75\n"
        "    mg_per_hour = mcg_per_min * 60 / 1000\n"
        "    rate = mg_per_hour / (400 / 250)\n"
        "    return round(rate, 1)\n"
    )
    # from a yield run, told to vary the dopamine seed: right sums, false medicine
    text = (
        "A 72-year-old woman weighing 75 kg receives an infusion of {} at {} from a bag of "
        "400 mg in 250 mL. What is the pump rate in mL/h, rounded to one decimal?"
    )

    def problems(drug: str, rate: str) -> list[str]:
        number = rate.split()[0]
        return DOMAIN.screen(vignette(text.format(drug, rate), program.format(number), "1"))

    assert problems("dopamine", "5 mcg/kg/min") == []
    assert problems("norepinephrine", "0.1 mcg/kg/min") == []
    assert problems("epinephrine", "10 mcg/kg/min") == [
        "epinephrine at 10 mcg/kg/min is outside its usual adult range (0.01 to 2 "
        "mcg/kg/min): use a rate a patient is given"
    ]
    # fentanyl runs per hour: 1 mcg/kg/min is 60 mcg/kg/h
    (fentanyl,) = problems("fentanyl", "1 mcg/kg/min")
    assert "(0.25 to 10 mcg/kg/h)" in fentanyl
    (atropine,) = problems("atropine", "5 mcg/kg/min")
    assert atropine.startswith("5 mcg/kg/min: name the drug, one given as a weight-based")
    (heparin,) = problems("heparin", "18 mcg/kg/h")
    assert heparin == "heparin is dosed in units/kg/h, not mcg/kg/h"


def test_a_rule_stated_the_wrong_way_round_is_found():
    program = (
        "def solution():\n"
        "    clearance = cockcroft_gault(age=42, weight_kg=70, creatinine_mg_dl=0.7, sex='{}')\n"
        "    return round(clearance)\n"
    )
    # from a trial, 6 drafts alike: the seed's woman made a man, its factor kept
    text = (
        "A 42-year-old {} weighing 70 kg has a serum creatinine of 0.7 mg/dL. What is the "
        "creatinine clearance by the Cockcroft-Gault equation, (140 - age) x weight in kg / "
        "(72 x creatinine in mg/dL), times 0.85 for a {}, in mL/min, rounded to the nearest "
        "whole number?"
    )
    assert DOMAIN.screen(vignette(text.format("man", "man"), program.format("male"), "136")) == [
        "the problem says '0.85 for a man', but Cockcroft-Gault multiplies by 0.85 for a "
        "woman only: for a man, say no factor"
    ]
    woman = vignette(text.format("woman", "woman"), program.format("female"), "116")
    assert DOMAIN.screen(woman) == []


def test_a_vignette_in_pounds_states_its_factor():
    program = (
        "def solution():\n"
        "    weight_kg = 180 * 0.4536\n"
        "    height_m = (5 * 12 + 3) * 2.54 / 100\n"
        "    value = bmi(weight_kg=weight_kg, height_m=height_m)\n"
        "    return round(value, 1)\n"
    )
    # accepted before this screen: 31.9 at 0.4536 kg a pound, 32.0 at 1/2.2
    text = (
        "A 35-year-old man weighs 180 lb{} and is 5 ft 3 in tall. What is his body-mass "
        "index (weight in kg divided by the square of height in m), rounded to one decimal?"
    )
    (problem,) = DOMAIN.screen(vignette(text.format(""), program, "31.9"))
    assert "0.4536, which the problem does not state" in problem
    assert DOMAIN.screen(vignette(text.format(" (1 lb is 0.4536 kg)"), program, "31.9")) == []
