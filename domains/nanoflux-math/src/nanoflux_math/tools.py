"""The math judge tools: run the Attacker's program in the sandbox, compare answers."""

from __future__ import annotations

from pydantic import Field

from nanoflux.kit import python_tool
from nanoflux.records import Record
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


TOOLS = [python, equivalent_tool]
