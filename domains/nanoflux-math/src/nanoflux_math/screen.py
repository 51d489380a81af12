"""Free checks of a code-first math question before any model answers it.

A small Attacker often computes with a number its problem never states ("Charlie has
some books" and ``charlie = 20``): the problem cannot be solved, and only a Judge's
solve, two model calls later, would find out. Here a number the program uses must be
stated in the problem (in digits or words, or as a percentage of one), or be a constant
a reader supplies (a unit conversion, halves and doubles).
"""

from __future__ import annotations

import ast
import re

# What a reader brings without being told: small counts, halves, units of time, percent.
READER_CONSTANTS = {0, 1, 2, 3, 4, 0.5, 7, 10, 12, 24, 52, 60, 100, 365, 1000, 3600}
WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "hundred": 100, "thousand": 1000, "dozen": 12, "half": 0.5, "twice": 2,
    "double": 2, "triple": 3, "thrice": 3, "quarter": 0.25, "third": 3, "fifth": 5,
}  # fmt: skip
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")
_WORD = re.compile(r"[a-z]+")


def stated_numbers(text: str) -> set[float]:
    """Every number the text states, and what a percentage of it makes (15 % of, 15 %
    more, 15 % less): 15, 0.15, 1.15, 0.85."""
    lowered = text.lower()
    found = {float(m.replace(",", "")) for m in _NUMBER.findall(lowered)}
    found |= {float(WORDS[w]) for w in _WORD.findall(lowered) if w in WORDS}
    shares = {n / 100 for n in found}
    return found | shares | {1 + s for s in shares} | {1 - s for s in shares}


def program_numbers(program: str) -> list[float]:
    """The numeric literals of a program, in order, once each."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return []
    seen: list[float] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if float(node.value) not in seen:
                seen.append(float(node.value))
    return seen


def unstated_numbers(text: str, program: str) -> list[float]:
    stated = stated_numbers(text) | {float(c) for c in READER_CONSTANTS}
    return [n for n in program_numbers(program) if not any(abs(n - s) <= 1e-9 for s in stated)]


def _written(n: float) -> str:
    return str(int(n)) if n.is_integer() else repr(n)


def screen(text: str, program: str | None) -> list[str]:
    """What makes the question unsolvable as written, one sentence each (none: fine)."""
    if not program:
        return []
    missing = unstated_numbers(text, program)
    if not missing:
        return []
    listed = ", ".join(_written(n) for n in missing[:5])
    return [
        f"the program uses {listed}, which the problem does not state: the problem must "
        "give every number its solution needs"
    ]
