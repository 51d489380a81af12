"""Primitives for answer checkers: choice letters, numbers at their stated precision.

Domain packs build their ``check_answer`` from these, so "B", "(b)" and the option's
text name the same choice in every pack, and "57.1%" matches 0.571 everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CHOICE = re.compile(r"^(?:answer|option)?\s*[:\-]?\s*\(?([A-Ea-e])\s*[).:]?(?:\s.*)?$", re.S)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def answer_key(text: str) -> str:
    """Case, spacing and punctuation folded away, for comparing short answers."""
    return re.sub(r"[\s.,;:!'\"`]+", " ", str(text)).strip().casefold()


def choice_index(answer: str, choices: Sequence[str]) -> int | None:
    """Which choice an answer names: its letter ("b", "(B)", "B. text") or its text."""
    text = str(answer).strip()
    for i, choice in enumerate(choices):
        if answer_key(text) == answer_key(choice):
            return i
    match = _CHOICE.match(text)
    if match:
        index = ord(match.group(1).lower()) - ord("a")
        if index < len(choices):
            return index
    return None


def single_number(text: str) -> tuple[float, int, bool] | None:
    """``(value, decimals, percent)`` when the text holds exactly one number."""
    found = _NUMBER.findall(str(text).replace(",", ""))
    if len(found) != 1:
        return None
    number = found[0]
    decimals = len(number.split(".")[1]) if "." in number else 0
    return float(number), decimals, "%" in str(text)


def numbers_match(
    a: tuple[float, int, bool], b: tuple[float, int, bool], *, rel_tol: float = 1e-3
) -> bool:
    """Equal to the precision of the less precise side (half a unit in its last place), or
    within ``rel_tol``. A percentage also matches its fraction (57.1% and 0.571)."""

    def readings(n: tuple[float, int, bool]) -> list[tuple[float, int]]:
        value, places, percent = n
        return [(value, places), (value / 100, places + 2)] if percent else [(value, places)]

    for x, x_places in readings(a):
        for y, y_places in readings(b):
            half_unit = 0.5 * 10 ** -min(x_places, y_places)
            if abs(x - y) <= max(half_unit * (1 + 1e-9), rel_tol * max(abs(x), abs(y))):
                return True
    return False
