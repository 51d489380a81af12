"""Free checks of a code-first math question before any model answers it.

A small Attacker often computes with a number its problem never states ("Charlie has
some books" and ``charlie = 20``): the problem cannot be solved, and only a Judge's
solve, two model calls later, would find out. Here a number the program uses must be
stated in the problem (in digits or words, or as a percentage of one), or be a constant
a reader supplies (a unit conversion, halves and doubles).

The program's value is screened too. A word problem's answer comes out even and is not
below zero: in one ``bench yield`` run, each of the four programs that returned
3.333333, 66.666667, -3.333333 or -800 had misread its own problem (the Judge's blind
solve disagreed every time, after a Defender call and a solve each).
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


# where a negative answer is what the question means
_SIGNED = re.compile(r"temperature|degrees|below|loss|lost|deficit|debt|net\b|change in", re.I)


def answer_problems(text: str, answer: str) -> list[str]:
    """What the answer's shape says is wrong: it does not come out even (more than two
    decimals: an unintended division), or it is negative where nothing can be."""
    try:
        value = float(answer.replace(",", "").rstrip("%"))
    except ValueError:
        return []  # a fraction or an expression: the checker's business, not the screen's
    problems = []
    if "." in answer and len(answer.split(".", 1)[1]) > 2:
        problems.append(
            f"the program's answer, {answer}, does not come out even: a word problem's "
            "numbers give an exact answer"
        )
    if value < 0 and not _SIGNED.search(text):
        problems.append(
            f"the program's answer, {answer}, is negative: what the question asks for "
            "(a count, an amount, an age) cannot be"
        )
    return problems


def screen(text: str, program: str | None, answer: str | None = None) -> list[str]:
    """What makes the question unsolvable as written, one sentence each (none: fine).
    ``answer``: the program's value (code-first, the reference)."""
    if not program:
        return []
    problems = []
    missing = unstated_numbers(text, program)
    if missing:
        listed = ", ".join(_written(n) for n in missing[:5])
        problems.append(
            f"the program uses {listed}, which the problem does not state: the problem "
            "must give every number its solution needs"
        )
    return problems + (answer_problems(text, answer) if answer else [])
