"""The ``medicine`` domain: clinical vignettes whose answer a program computes with the
pack's calculators (code-first), recomputed by the calculators' tools, with a safety
screen on what the reference recommends."""

from __future__ import annotations

from collections.abc import Sequence

from nanoflux.domains import BenchmarkLoader, Domain, PromptSet, ToolCaller, Verification
from nanoflux.kit import jsonl_benchmark, noted
from nanoflux.records import Question, ToolEvidence
from nanoflux.tools import JudgeTool

from .answers import same_answer
from .loaders import LOADERS
from .screen import screen, seeds_path
from .tools import TOOLS, Calculation

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

#: the calculators a question can ask for by name (see tools.Calculation)
CALCULATIONS = [tool for tool in TOOLS if isinstance(tool.applies_to, Calculation)]


class MedicineDomain(Domain):
    name = "medicine"
    description = "Medicine: clinical calculators and sandboxed programs recompute; safety screened"
    skills = SKILLS
    supports_programs = True
    # code-first: the Attacker writes a vignette and solution(), which may import the
    # calculators; its value, run by medicine.python, is the reference
    program_tool = "medicine.python"
    answer_pattern = r"^-?[0-9]+([.][0-9]+)?$"

    def prompts(self) -> PromptSet:
        return PromptSet.from_package("nanoflux_medicine")

    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        return same_answer(reference, candidate, choices)

    def screen(self, question: Question) -> list[str]:
        """A named formula computed by its calculator, calculator arguments stated and
        plausible, numbers stated, the answer rounded, not a seed's numbers
        (:mod:`.screen`)."""
        return screen(question)

    def verify(self, question: Question, call_tool: ToolCaller) -> Verification:
        """Recompute the calculations the question asks for by name from the inputs it
        states, with the calculators that apply (:data:`CALCULATIONS`). A recomputation
        contradicts the reference only when the question asks for one calculation and
        has no program: a program's value is the reference, and a vignette of several
        steps names a calculation on its way to the answer.

        The Judge consults, through their ``applies_to``, the other tools that apply:
        ``medicine.python`` runs the question's program, and ``medicine.safety_screen``
        contradicts a reference that recommends something dangerous (a dose far above
        the maximum, advice to stop insulin).
        """
        asked = [tool for tool in CALCULATIONS if tool.applies_to.asked(question)]
        sure = len(asked) == 1 and not question.program
        evidence = []
        for tool in asked:
            args = tool.applies_to(question)
            if args is not None:
                found = call_tool(tool.id, args)
                evidence.append(_read(tool, found, question.reference_answer, sure=sure))
        return Verification(evidence=evidence)

    def loaders(self) -> dict[str, BenchmarkLoader]:
        return dict(LOADERS) | {"jsonl": JSONL}

    def default_seeds(self) -> str:
        # vignettes written for this pack, each with its program (seeds/README.md)
        return f"medicine:jsonl:{seeds_path()}"

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
                "    clearance = cockcroft_gault(age=68, weight_kg=80, "
                "creatinine_mg_dl=1.5, sex='male')\n"
                "    return round(clearance)\n"
            ),
        )


#: questions, answers and programs in JSONL: the pack's seed vignettes, or a user's own
JSONL = jsonl_benchmark(
    "medicine",
    question="question",
    answer="answer",
    choices="choices",
    program="program",
    meta=("skill",),
)


def _read(tool: JudgeTool, evidence: ToolEvidence, reference: str, *, sure: bool) -> ToolEvidence:
    """What a calculator's value says of the reference (compared at 4 decimals)."""
    result = evidence.result
    if not result.ok:
        return noted(evidence, None, str(result.error))
    value = result.value["value"]
    match = same_answer(reference, f"{value:.4f}")
    note = f"{tool.id} gives {value:.2f} {result.value['unit']}"
    return noted(evidence, True if match else (False if sure else None), note)
