"""The ``math`` domain: multi-step word problems whose answer a program recomputes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources

from nanoflux.domains import BenchmarkLoader, Domain, PromptSet
from nanoflux.kit import CodeFirstScreen
from nanoflux.records import Question

from .answers import equivalent
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

# GSM8K's 7,473 training answers are all whole numbers: a question that asks how many
# apples each friend gets, answered 27.5, was divided wrongly or numbered badly
SCREEN = CodeFirstScreen(whole_counts=True)
_LETTER = re.compile(r"^\(?([A-Ea-e])[).:]?$")


class MathDomain(Domain):
    """No ``verify()`` of its own: the tools that apply to a question check it. The Judge
    consults ``math.python`` (the question's program, run in the sandbox, its value
    compared with the reference; without a program, no evidence) and ``math.steps``
    (the number the worked steps arrive at), each through its ``applies_to``."""

    name = "math"
    description = "Math word problems: a sandboxed program recomputes the answer; sympy compares"
    skills = SKILLS
    supports_programs = True
    program_tool = "math.python"
    # a number: signed, with thousands separators, decimals, a fraction or a percent sign
    answer_pattern = r"^-?[0-9][0-9,]*([.][0-9]+)?(/[0-9]+)?%?$"

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

    def screen(self, question: Question) -> list[str]:
        """A number the program uses that the problem never states; a value that does
        not come out even, or is negative where nothing can be (the kit's screens)."""
        return SCREEN(question)

    def loaders(self) -> dict[str, BenchmarkLoader]:
        return dict(LOADERS)

    def default_seeds(self) -> str:
        # 811 multi-step problems of GSM8K's training split (MIT), fit to show (seeds/README)
        path = resources.files("nanoflux_math").joinpath("seeds", "gsm8k-train-811.jsonl")
        return f"math:gsm8k:{path}"

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


def _choice_text(answer: str, choices: Sequence[str]) -> str:
    """A choice letter ("B", "(b)") stands for that choice's text."""
    match = _LETTER.match(answer.strip())
    if match:
        index = ord(match.group(1).upper()) - ord("A")
        if index < len(choices):
            return choices[index]
    return answer
