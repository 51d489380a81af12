"""The ``math`` domain: multi-step word problems whose answer a program recomputes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nanoflux.domains import BenchmarkLoader, Domain, PromptSet, ToolCaller, Verification
from nanoflux.records import Question, ToolEvidence

from .answers import answer_text, equivalent
from .loaders import LOADERS

SKILLS = (
    "arithmetic",
    "fractions_and_percentages",
    "ratios_and_rates",
    "unit_conversion",
    "algebra",
    "counting_and_probability",
    "geometry",
    "number_theory",
    "multi_step_word_problems",
)

_LETTER = re.compile(r"^\(?([A-Ea-e])[).:]?$")


class MathDomain(Domain):
    name = "math"
    description = "Math word problems: a sandboxed program recomputes the answer; sympy compares"
    skills = SKILLS
    supports_programs = True

    def prompts(self) -> PromptSet:
        return PromptSet.from_package("nanoflux_math")

    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        if choices:
            reference, candidate = (
                _choice_text(reference, choices),
                _choice_text(candidate, choices),
            )
        return equivalent(reference, candidate).equivalent

    def verify(self, question: Question, call_tool: ToolCaller) -> Verification:
        """Run the question's program in the sandbox and compare its value with the reference.

        Without a program there is nothing to recompute: no evidence (unverified). A program
        that fails says nothing about the reference either way.
        """
        if not question.program:
            return Verification()
        run = call_tool("math.python", {"code": question.program})
        if not run.result.ok:
            return Verification(evidence=[_noted(run, None, f"program failed: {run.result.error}")])
        value = run.result.value
        if value is None or str(value).strip() == "":
            return Verification(evidence=[_noted(run, None, "the program produced no answer")])
        computed = answer_text(value)
        run = _noted(run, None, f"the program computes {computed}")
        check = call_tool("math.equivalent", {"a": computed, "b": question.reference_answer})
        if not check.result.ok:
            return Verification(evidence=[run, _noted(check, None, str(check.result.error))])
        same = bool(check.result.value["equivalent"])
        note = (
            f"program value {computed} {'equals' if same else 'differs from'} "
            f"the reference {question.reference_answer}"
        )
        return Verification(evidence=[run, _noted(check, same, note)])

    def loaders(self) -> dict[str, BenchmarkLoader]:
        return dict(LOADERS)

    def example_question(self) -> Question:
        return Question(
            text=(
                "A bakery sells muffins for 3 dollars each and cookies for 2 dollars each. "
                "On Monday it sold 45 muffins and twice as many cookies as muffins, and it "
                "spent 60 dollars on ingredients. What was its profit on Monday, in dollars?"
            ),
            domain=self.name,
            hops=4,
            skill="multi_step_word_problems",
            reference_answer="255",
            solution_steps=[
                "Cookies sold: 2 * 45 = 90.",
                "Muffin revenue: 45 * 3 = 135 dollars.",
                "Cookie revenue: 90 * 2 = 180 dollars.",
                "Profit: 135 + 180 - 60 = 255 dollars.",
            ],
            explanation="The cookie count must be derived before the revenue.",
            program=(
                "def solution():\n"
                "    muffins = 45\n"
                "    cookies = 2 * muffins\n"
                "    revenue = 3 * muffins + 2 * cookies\n"
                "    return revenue - 60\n"
            ),
        )


def _noted(evidence: ToolEvidence, supports: bool | None, note: str) -> ToolEvidence:
    return evidence.model_copy(update={"supports_reference": supports, "note": note})


def _choice_text(answer: str, choices: Sequence[str]) -> str:
    """A choice letter ("B", "(b)") stands for that choice's text."""
    match = _LETTER.match(answer.strip())
    if match:
        index = ord(match.group(1).upper()) - ord("A")
        if index < len(choices):
            return choices[index]
    return answer
