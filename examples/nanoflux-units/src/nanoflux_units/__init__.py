"""Example NanoFlux domain pack: unit conversions, each answer recomputed by a program."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from nanoflux import hookimpl
from nanoflux.answers import numbers_match, single_number
from nanoflux.domains import BenchmarkLoader, Domain, PromptSet
from nanoflux.errors import ToolError
from nanoflux.kit import jsonl_benchmark, python_tool
from nanoflux.records import Question
from nanoflux.tools import judge_tool


class UnitsDomain(Domain):
    name = "units"
    description = "Unit conversions: a sandboxed program computes every reference answer"
    skills = ("length", "mass", "volume", "temperature", "speed_and_rates")
    supports_programs = True
    # code-first: the Attacker writes a problem and solution(); the program's value,
    # run by this tool in the sandbox, is the reference answer
    program_tool = "units.python"
    answer_pattern = r"^-?[0-9]+([.][0-9]+)?$"

    def prompts(self) -> PromptSet:
        return PromptSet.from_package("nanoflux_units")

    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        """Equal numbers, to the precision of the less precise one (4.83 and 4.828)."""
        a, b = single_number(reference), single_number(candidate)
        return a is not None and b is not None and numbers_match(a, b)

    def screen(self, question: Question) -> list[str]:
        if not re.search(r"\d", question.text):
            return ["The question states no quantity to convert."]
        return []

    def loaders(self) -> dict[str, BenchmarkLoader]:
        return {"jsonl": jsonl_benchmark("units", question="question", answer="answer")}

    def example_question(self) -> Question:
        return Question(
            text="A runner covers 5 miles in 40 minutes. What is her average speed in "
            "kilometres per hour, to two decimals?",
            domain=self.name,
            hops=3,
            skill="speed_and_rates",
            reference_answer="12.07",
            solution_steps=[
                "5 miles = 5 x 1.609344 = 8.04672 km",
                "40 min = 2/3 h",
                "8.04672 / (2/3) = 12.07",
            ],
            program="def solution():\n    km = 5 * 1.609344\n    hours = 40 / 60\n"
            "    return round(km / hours, 2)\n",
        )


#: each unit's dimension and its size in metres, kilograms or litres
UNITS = {
    "metres": ("length", 1.0),
    "kilometres": ("length", 1000.0),
    "miles": ("length", 1609.344),
    "feet": ("length", 0.3048),
    "kilograms": ("mass", 1.0),
    "grams": ("mass", 0.001),
    "pounds": ("mass", 0.45359237),
    "litres": ("volume", 1.0),
    "millilitres": ("volume", 0.001),
    "gallons": ("volume", 3.785411784),
}
CONVERT = re.compile(r"Convert (?P<amount>\d+(?:\.\d+)?) (?P<source>\w+) to (?P<target>\w+)\.?")


class ConvertArgs(BaseModel):
    amount: float
    source: str = Field(description="a unit, plural: miles, kilograms, litres ...")
    target: str = Field(description="the unit to convert to, of the same dimension")


def conversion_in(question: Question) -> dict | None:
    """The arguments, when the whole question is "Convert N UNIT to UNIT"."""
    found = CONVERT.fullmatch(question.text.strip())
    if not found or found["source"] not in UNITS or found["target"] not in UNITS:
        return None
    return {"amount": float(found["amount"]), "source": found["source"], "target": found["target"]}


@judge_tool("units.convert", domain="units", applies_to=conversion_in)
def convert(args: ConvertArgs) -> float:
    """An amount in another unit of the same dimension (length, mass or volume)."""
    if args.source not in UNITS or args.target not in UNITS:
        raise ToolError(f"unknown unit: use one of {', '.join(UNITS)}")
    (dimension, size), (other, target_size) = UNITS[args.source], UNITS[args.target]
    if dimension != other:
        raise ToolError(f"cannot convert {args.source} ({dimension}) to {args.target} ({other})")
    return args.amount * size / target_size


@hookimpl
def register_domains(register):
    register(UnitsDomain())


@hookimpl
def register_judge_tools(register):
    register(python_tool("units"))
    register(convert)
