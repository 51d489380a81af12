"""The medicine judge tools. Each wraps a function of :mod:`nanoflux_medicine.calculators`
and reports ``{"value", "unit", ...}`` so the Judge sees units with every number.

A calculator a question can ask for by name (BMI, anion gap, mean arterial pressure)
declares when it applies: a :class:`Calculation`, its keywords and how its inputs are
read from the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from nanoflux.kit import arithmetic_tool, python_tool
from nanoflux.records import Question, Record
from nanoflux.tools import judge_tool

from . import calculators as calc
from .safety import screen

Sex = Literal["female", "male"]


class BmiArgs(Record):
    weight_kg: float = Field(gt=0, le=700)
    height_m: float = Field(gt=0, le=3, description="Height in metres (1.75, not 175).")


class EgfrArgs(Record):
    creatinine_mg_dl: float = Field(gt=0, le=40, description="Serum creatinine, mg/dL.")
    age: float = Field(ge=18, le=120, description="Years; the equation is for adults.")
    sex: Sex


class CockcroftGaultArgs(Record):
    age: float = Field(ge=18, le=120)
    weight_kg: float = Field(gt=0, le=700)
    creatinine_mg_dl: float = Field(gt=0, le=40)
    sex: Sex


class AnionGapArgs(Record):
    sodium: float = Field(gt=0, le=250, description="mEq/L")
    chloride: float = Field(gt=0, le=250, description="mEq/L")
    bicarbonate: float = Field(ge=0, le=100, description="mEq/L")
    potassium: float | None = Field(default=None, ge=0, le=20, description="mEq/L, optional")


class CalciumArgs(Record):
    calcium_mg_dl: float = Field(gt=0, le=30)
    albumin_g_dl: float = Field(gt=0, le=10)


class MapArgs(Record):
    systolic: float = Field(gt=0, le=350, description="mmHg")
    diastolic: float = Field(gt=0, le=250, description="mmHg")


class QtcArgs(Record):
    qt_ms: float = Field(gt=0, le=1000)
    heart_rate_bpm: float = Field(gt=0, le=350)
    formula: Literal["bazett", "fridericia", "framingham", "hodges"] = "bazett"


class BsaArgs(Record):
    height_cm: float = Field(gt=0, le=300)
    weight_kg: float = Field(gt=0, le=700)


class DoseArgs(Record):
    weight_kg: float = Field(gt=0, le=700)
    dose_per_kg: float = Field(gt=0, description="Dose per kg for one administration.")
    unit: str = Field(default="mg", description="Unit of the dose (mg, mcg, units).")
    max_dose: float | None = Field(default=None, gt=0, description="Cap for one dose.")
    doses_per_day: int = Field(default=1, ge=1, le=24)


class ConvertArgs(Record):
    value: float
    from_unit: str = Field(description="mg/dL, g/dL, g/L, mg/L, mmol/L, µmol/L or nmol/L.")
    to_unit: str
    analyte: str = Field(description=f"One of: {', '.join(sorted(calc.MOLAR_MASS))}.")


class TextArgs(Record):
    text: str = Field(min_length=1, description="A question, solution or answer to screen.")


_NUM = r"(\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Calculation:
    """A calculator's ``applies_to`` for a question that asks for its calculation: the
    keywords are in the question, and ``inputs`` finds the arguments in its lower-cased
    text (None: not all of them are stated)."""

    keywords: str
    inputs: Callable[[str], dict[str, Any] | None]

    def asked(self, question: Question) -> bool:
        return re.search(self.keywords, question.text.lower()) is not None

    def __call__(self, question: Question) -> dict[str, Any] | None:
        return self.inputs(question.text.lower()) if self.asked(question) else None


def _bmi_inputs(text: str) -> dict | None:
    weight = re.search(rf"{_NUM}\s*kg\b", text)
    height = re.search(rf"{_NUM}\s*(cm|m)\b", text)
    if not (weight and height):
        return None
    metres = float(height.group(1)) / (100 if height.group(2) == "cm" else 1)
    return {"weight_kg": float(weight.group(1)), "height_m": metres}


def _anion_gap_inputs(text: str) -> dict | None:
    found = {}
    for key, pattern in (
        ("sodium", r"(?:sodium|\bna\+?)"),
        ("chloride", r"(?:chloride|\bcl-?)"),
        ("bicarbonate", r"(?:bicarbonate|hco3-?)"),
    ):
        match = re.search(rf"{pattern}[^0-9.;]{{0,25}}?{_NUM}", text)
        if not match:
            return None
        found[key] = float(match.group(1))
    return found


def _map_inputs(text: str) -> dict | None:
    match = re.search(r"(\d{2,3})\s*/\s*(\d{2,3})\s*mm\s*hg", text)
    if not match:
        return None
    return {"systolic": float(match.group(1)), "diastolic": float(match.group(2))}


def _value(value: float, unit: str, **extra) -> dict:
    return {"value": round(value, 4), "unit": unit, **extra}


@judge_tool(
    "medicine.bmi",
    domain="medicine",
    applies_to=Calculation(r"\bbmi\b|body[- ]mass index", _bmi_inputs),
)
def bmi(args: BmiArgs) -> dict:
    """Body-mass index (kg/m²) and its WHO adult class."""
    value = calc.bmi(args.weight_kg, args.height_m)
    return _value(value, "kg/m2", category=calc.bmi_category(value))


@judge_tool("medicine.egfr_ckd_epi_2021", domain="medicine")
def egfr(args: EgfrArgs) -> dict:
    """eGFR by the race-free CKD-EPI 2021 creatinine equation (mL/min/1.73 m²)."""
    value = calc.egfr_ckd_epi_2021(args.creatinine_mg_dl, args.age, args.sex)
    return _value(value, "mL/min/1.73m2", formula="CKD-EPI 2021 (Inker et al. 2021)")


@judge_tool("medicine.cockcroft_gault", domain="medicine")
def cockcroft_gault(args: CockcroftGaultArgs) -> dict:
    """Creatinine clearance by Cockcroft-Gault (mL/min), x0.85 for women."""
    value = calc.cockcroft_gault(args.age, args.weight_kg, args.creatinine_mg_dl, args.sex)
    return _value(value, "mL/min", formula="Cockcroft-Gault 1976")


@judge_tool(
    "medicine.anion_gap",
    domain="medicine",
    applies_to=Calculation(r"anion gap", _anion_gap_inputs),
)
def anion_gap(args: AnionGapArgs) -> dict:
    """Serum anion gap: Na - (Cl + HCO3), with K added when given (mEq/L)."""
    value = calc.anion_gap(args.sodium, args.chloride, args.bicarbonate, args.potassium or 0.0)
    return _value(value, "mEq/L", with_potassium=args.potassium is not None)


@judge_tool("medicine.corrected_calcium", domain="medicine")
def corrected_calcium(args: CalciumArgs) -> dict:
    """Albumin-corrected calcium (Payne): Ca + 0.8 x (4.0 - albumin), mg/dL."""
    return _value(calc.corrected_calcium(args.calcium_mg_dl, args.albumin_g_dl), "mg/dL")


@judge_tool(
    "medicine.map",
    domain="medicine",
    applies_to=Calculation(r"mean arterial pressure|\bmap\b", _map_inputs),
)
def mean_arterial_pressure(args: MapArgs) -> dict:
    """Mean arterial pressure: DBP + (SBP - DBP) / 3, mmHg."""
    return _value(calc.mean_arterial_pressure(args.systolic, args.diastolic), "mmHg")


@judge_tool("medicine.qtc", domain="medicine")
def qtc(args: QtcArgs) -> dict:
    """Corrected QT interval (ms) by Bazett, Fridericia, Framingham or Hodges."""
    value = calc.qtc(args.qt_ms, args.heart_rate_bpm, args.formula)
    return _value(value, "ms", formula=args.formula)


@judge_tool("medicine.bsa", domain="medicine")
def bsa(args: BsaArgs) -> dict:
    """Body-surface area by Mosteller: sqrt(height_cm x weight_kg / 3600), m²."""
    return _value(calc.bsa_mosteller(args.height_cm, args.weight_kg), "m2")


@judge_tool("medicine.weight_based_dose", domain="medicine")
def weight_based_dose(args: DoseArgs) -> dict:
    """One dose = weight x dose per kg (capped at max_dose), and the daily total."""
    result = calc.weight_based_dose(
        args.weight_kg, args.dose_per_kg, args.max_dose, args.doses_per_day
    )
    return _value(
        result["dose"], args.unit, daily=round(result["daily"], 4), capped=result["capped"]
    )


@judge_tool("medicine.convert", domain="medicine")
def convert(args: ConvertArgs) -> dict:
    """Convert a lab value between mg/dL-style and mmol/L-style units by molar mass."""
    value = calc.convert(args.value, args.from_unit, args.to_unit, args.analyte)
    return _value(
        value,
        args.to_unit,
        molar_mass=calc.MOLAR_MASS[args.analyte.strip().lower().replace(" ", "_")],
    )


def _recommended(question: Question) -> dict:
    # what a reader would act on, as a dataset example teaches it: the worked solution
    # (code-first, the Judge's solve), the steps, the explanation and the answer (not the
    # question, which may describe a mistake)
    parts = [
        question.solution,
        *question.solution_steps,
        question.explanation,
        question.reference_answer,
    ]
    return {"text": "\n".join(p for p in parts if p).strip()}


@judge_tool("medicine.safety_screen", domain="medicine", applies_to=_recommended, checks="safety")
def safety_screen(args: TextArgs) -> dict:
    """Red flags in medical text: doses above adult daily maximums, dangerous advice."""
    return screen(args.text)


# the calculators need no import: a 1.5B Attacker leaves out import lines
python = python_tool("medicine", provides="nanoflux_medicine.calculators")
# each calculation of the worked solution holds: the Judge's solve that a yield run
# accepted wrote 380 / 0.866 ≈ 440.7 (it is 438.79) on its way to a QTc of 439
arithmetic = arithmetic_tool("medicine")


TOOLS = [
    bmi,
    egfr,
    cockcroft_gault,
    anion_gap,
    corrected_calcium,
    mean_arterial_pressure,
    qtc,
    bsa,
    weight_based_dose,
    convert,
    safety_screen,
    python,
    arithmetic,
]
