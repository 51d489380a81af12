"""Primitives for answer checkers: choice letters, numbers at their stated precision.

Domain packs build their ``check_answer`` from these, so "B", "(b)" and the option's
text name the same choice in every pack, and "57.1%" matches 0.571 everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# a choice's letter, A-Z (choice_index keeps only letters the question has)
_CHOICE = re.compile(r"^(?:answer|option)?\s*[:\-]?\s*\(?([A-Za-z])\s*[).:]?(?:\s.*)?$", re.S)
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


def options_for(value: str, choices: Sequence[str], same: Callable[[str, str], bool]) -> list[int]:
    """The options that are ``value`` (a program's answer): those written as it is, case
    and punctuation aside ("G3a" is not "G3b", though both hold the number 3); else those
    for which ``same(option, value)`` holds, each option read as the reference, so its
    written precision decides ("9.4 mg/dL" is not a value of 9)."""
    exact = [i for i, choice in enumerate(choices) if answer_key(choice) == answer_key(value)]
    return exact or [i for i, choice in enumerate(choices) if same(choice, value)]


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


# -- answers a reply or a prompt shows ---------------------------------------------------------


def boxed_spans(text: str) -> list[tuple[int, str]]:
    """``(position, content)`` of every ``\\boxed{...}`` / ``\\fbox{...}``, braces balanced
    (``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``); an unclosed box is skipped. One pass
    over the text, whatever it holds (a reply of a thousand unclosed boxes included)."""
    closing = _closing_braces(text)
    spans = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*", text):
        start = match.end()
        if text.startswith("{", start):
            end = closing.get(start)
            if end is not None:
                spans.append((match.start(), text[start + 1 : end]))
            continue
        token = re.match(r"[^\s$]+", text[start : start + 200])  # \boxed 5: one bare token
        if token:
            spans.append((match.start(), token.group(0)))
    return spans


def _closing_braces(text: str) -> dict[int, int]:
    """Where each ``{`` that is closed closes."""
    closing, opened = {}, []
    for i, char in enumerate(text):
        if char == "{":
            opened.append(i)
        elif char == "}" and opened:
            closing[opened.pop()] = i
    return closing


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in ``text``, or None."""
    spans = boxed_spans(text)
    return spans[-1][1] if spans else None


# Where prompts and replies state an answer: a JSON format example, "Final answer: X",
# "The answer is X", GSM8K's "#### X". Group 1 is the rest of the line.
ANSWER_MARKERS = {
    "json": re.compile(r"\"final_answer\"\s*:\s*\"([^\"\n]*)\"", re.I),
    "final_answer": re.compile(r"final\s+answer\W{0,4}?(?:\s+is)?\s*[:：]?[ \t]*([^\n]*)", re.I),
    "answer_is": re.compile(r"\banswer\s+is\s*[:：]?[ \t]*([^\n]*)", re.I),
    "gsm8k": re.compile(r"####[ \t]*([-−$\d.][^\n]*)"),  # not a "#### Step 2" heading
    "answer_line": re.compile(r"^[ \t*_]*answer[*_]*\s*[:：][ \t]*([^\n]*)", re.I | re.M),
}
_NUMBER_VALUE = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?|[-−]?\.\d+")


def shown_answers(text: str) -> list[str]:
    """Every answer ``text`` states through a marker (format examples, worked examples)."""
    shown = [content for _, content in boxed_spans(text)]
    for pattern in ANSWER_MARKERS.values():
        shown.extend(match.group(1) for match in pattern.finditer(text))
    return [s.strip().strip("*_`$ ").rstrip(".").strip() for s in shown if s.strip()]


def _values(text: str) -> set[float]:
    found = set()
    for token in _NUMBER_VALUE.findall(text):
        try:
            found.add(float(token.replace(",", "").replace("−", "-")))
        except ValueError:
            continue
    return found


def copied_from_prompt(answer: str | None, prompt: str, *, question: str = "") -> bool:
    """Whether ``answer`` repeats an answer that the prompt itself shows: the value of a
    format example (``"final_answer": "7"``) or of a worked example (``The answer is 72``).

    Only values the prompt shows *as answers* count: a worked example's intermediate
    numbers are everywhere in a few-shot prompt and would flag honest replies. The item's
    own ``question`` is cut out of the prompt first, and a value that the question itself
    contains is never called copied (an answer may legitimately restate a given).
    """
    if answer is None or not str(answer).strip():
        return False
    scaffold = prompt.replace(question, "\n") if question else prompt
    mine = single_number(answer)
    given = _values(question)
    for shown in shown_answers(scaffold):
        theirs = single_number(shown)
        if mine is not None and theirs is not None:
            if mine[0] == theirs[0] and mine[0] not in given:
                return True
        elif mine is None and theirs is None and answer_key(answer) == answer_key(shown):
            return answer_key(answer) not in answer_key(question)
    return False
