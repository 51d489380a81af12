"""The math judge tools: run the Attacker's program in the sandbox, compare answers."""

from __future__ import annotations

from pydantic import Field

from nanoflux.records import Record
from nanoflux.sandbox import program_value
from nanoflux.tools import judge_tool

from .answers import equivalent


class PythonArgs(Record):
    code: str = Field(
        min_length=1,
        description="A Python program. Define solution() returning the answer, or print it.",
    )


class EquivalentArgs(Record):
    a: str = Field(description="An answer, as text (LaTeX, fractions, percentages allowed).")
    b: str = Field(description="The answer to compare it with.")


@judge_tool("math.python", domain="math")
def python(args: PythonArgs):
    """Run a Python program in the sandbox; the value is what solution() returns, else stdout.

    sympy, numpy and the standard library are importable; there is no network, no
    child process, no file outside the working directory, and limits on CPU time,
    memory and output.
    """
    return program_value(args.code)


@judge_tool("math.equivalent", domain="math")
def equivalent_tool(args: EquivalentArgs):
    """Whether two answers are the same value: numerically with tolerance, else symbolically.

    Reads 1,234 / $5 / 50% / 3/4 / \\frac{3}{4} / x=5 / \\boxed{..}; returns
    {"equivalent": bool, "method": numeric|symbolic|tuple|text, "a": .., "b": ..}.
    """
    return equivalent(args.a, args.b).as_dict()


TOOLS = [python, equivalent_tool]
