"""The ``medicine`` domain: clinical calculations recomputed by tools and sandboxed programs,
with a safety screen on what the reference recommends."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from nanoflux.domains import BenchmarkLoader, Domain, PromptSet, ToolCaller, Verification
from nanoflux.kit import check_program, consult, noted
from nanoflux.records import Question, ToolEvidence

from .answers import same_answer
from .loaders import LOADERS
from .tools import safety_screen

SKILLS = (
    "renal_function",
    "body_size_and_dosing",
    "acid_base_and_electrolytes",
    "cardiovascular",
    "unit_conversion",
    "pharmacology",
    "diagnosis",
    "clinical_safety",
)

_NUM = r"(\d+(?:\.\d+)?)"


def _bmi_args(text: str) -> dict | None:
    weight = re.search(rf"{_NUM}\s*kg\b", text)
    height = re.search(rf"{_NUM}\s*(cm|m)\b", text)
    if not (weight and height):
        return None
    metres = float(height.group(1)) / (100 if height.group(2) == "cm" else 1)
    return {"weight_kg": float(weight.group(1)), "height_m": metres}


def _anion_gap_args(text: str) -> dict | None:
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


def _map_args(text: str) -> dict | None:
    match = re.search(r"(\d{2,3})\s*/\s*(\d{2,3})\s*mm\s*hg", text)
    if not match:
        return None
    return {"systolic": float(match.group(1)), "diastolic": float(match.group(2))}


# keyword pattern, tool, argument extractor
_CALCULATIONS: dict[str, tuple[str, str, Callable[[str], dict | None]]] = {
    "bmi": (r"\bbmi\b|body[- ]mass index", "medicine.bmi", _bmi_args),
    "anion_gap": (r"anion gap", "medicine.anion_gap", _anion_gap_args),
    "map": (r"mean arterial pressure|\bmap\b", "medicine.map", _map_args),
}


class MedicineDomain(Domain):
    name = "medicine"
    description = "Medicine: clinical calculators and sandboxed programs recompute; safety screened"
    skills = SKILLS
    supports_programs = True

    def prompts(self) -> PromptSet:
        return PromptSet.from_package("nanoflux_medicine")

    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        return same_answer(reference, candidate, choices)

    def verify(self, question: Question, call_tool: ToolCaller) -> Verification:
        """Run the program, recompute recognised calculations from the question text, and
        screen the reference answer: a reference that recommends something dangerous (a
        dose far above the maximum, advice to stop insulin) is contradicted."""
        program = check_program(question, call_tool, "medicine.python", self.check_answer)
        screen = consult(safety_screen, question, call_tool, self.check_answer)  # always applies
        evidence = [*program, *self._recompute(question, call_tool), screen]
        return Verification(evidence=[e for e in evidence if e is not None])

    def _recompute(self, question: Question, call_tool: ToolCaller) -> list[ToolEvidence]:
        lowered = question.text.lower()
        asked = [
            (name, tool, extract)
            for name, (pattern, tool, extract) in _CALCULATIONS.items()
            if re.search(pattern, lowered)
        ]
        evidence = []
        for _name, tool_id, extract in asked:
            args = extract(lowered)
            if args is None:
                continue
            result = call_tool(tool_id, args)
            if not result.result.ok:
                evidence.append(noted(result, None, str(result.result.error)))
                continue
            value = result.result.value["value"]
            match = same_answer(question.reference_answer, f"{value:.4f}")
            sure = len(asked) == 1
            supports = True if match else (False if sure else None)
            note = f"{tool_id} gives {value:.2f} {result.result.value['unit']}"
            evidence.append(noted(result, supports, note))
        return evidence

    def loaders(self) -> dict[str, BenchmarkLoader]:
        return dict(LOADERS)

    def example_question(self) -> Question:
        return Question(
            text=(
                "A 68-year-old man weighing 80 kg has a serum creatinine of 1.5 mg/dL. "
                "Using the Cockcroft-Gault equation, what is his creatinine clearance in "
                "mL/min, rounded to the nearest whole number?"
            ),
            domain=self.name,
            hops=3,
            skill="renal_function",
            reference_answer="53",
            solution_steps=[
                "Cockcroft-Gault: CrCl = (140 - age) x weight / (72 x creatinine).",
                "(140 - 68) x 80 = 5760; 72 x 1.5 = 108.",
                "5760 / 108 = 53.3, so 53 mL/min (no 0.85 factor for a man).",
            ],
            explanation="Applying the female factor by mistake gives 45.",
            program=(
                "from nanoflux_medicine.calculators import cockcroft_gault\n\n"
                "def solution():\n"
                "    return round(cockcroft_gault(age=68, weight_kg=80, "
                "creatinine_mg_dl=1.5, sex='male'))\n"
            ),
        )
