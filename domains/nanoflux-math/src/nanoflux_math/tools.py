"""The math judge tools: run the Attacker's program in the sandbox, compare answers."""

from __future__ import annotations

from pydantic import Field

from nanoflux.evaluation import extract_answer
from nanoflux.kit import arithmetic_tool, python_tool
from nanoflux.records import Question, Record
from nanoflux.tools import judge_tool

from .answers import equivalent


class EquivalentArgs(Record):
    a: str = Field(description="An answer, as text (LaTeX, fractions, percentages allowed).")
    b: str = Field(description="The answer to compare it with.")


# sympy and numpy are installed with the pack, so the sandbox can import them
python = python_tool("math", importable="sympy, numpy")


@judge_tool("math.equivalent", domain="math")
def equivalent_tool(args: EquivalentArgs):
    """Whether two answers are the same value: numerically with tolerance, else symbolically.

    Reads 1,234 / $5 / 50% / 3/4 / \\frac{3}{4} / x=5 / \\boxed{..}; returns
    {"equivalent": bool, "method": numeric|symbolic|tuple|text, "a": .., "b": ..}.
    """
    return equivalent(args.a, args.b).as_dict()


class StepsArgs(Record):
    steps: list[str] = Field(min_length=1, description="A worked solution, one step a line.")


def _worked_steps(question: Question) -> dict:
    if question.solution:  # a prose solution: its lines are the steps
        return {"steps": [line for line in question.solution.splitlines() if line.strip()]}
    return {"steps": list(question.solution_steps)}


@judge_tool("math.steps", domain="math", applies_to=_worked_steps, checks="consistency")
def steps_tool(args: StepsArgs) -> str:
    """The number a worked solution arrives at: its last stated number, or "none".

    A dataset example teaches its steps, so they must reach the reference themselves;
    a reference that only the program computes (steps with no arithmetic, or a last
    step that stops short) is contradicted. Agreeing confirms nothing (``consistency``):
    the steps and the reference have the same author; the program is the check.
    """
    found = extract_answer("\n".join(args.steps), numeric=True).answer
    return found if found is not None else "none"


# each calculation of the worked steps holds, not only the number they arrive at; and
# there is one: every GSM8K solution works its steps out
arithmetic = arithmetic_tool("math", shows_work=True)

TOOLS = [python, equivalent_tool, steps_tool, arithmetic]
