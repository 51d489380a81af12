"""Reading the answer out of a model's reply, the ways models write it.

Models answer in their own trained format: Qwen boxes (``\\boxed{18}``), chat models say
"The answer is 18." or "**Final Answer:** $18", base models that saw GSM8K write
``#### 18``, NanoFlux-tuned models close with ``Final answer: 18``. Every marker is
found with its position and the *last* usable one wins (models restate and correct
themselves). Only when no marker holds a usable answer does the declared fallback
apply: the last number of the reply (``method="last_number"``), which the validity flags
count separately. For multiple choice, a marker's content may be the letter or the
option's text; the fallback is the last letter written as ``(B)`` or ``B)``.

The answer is reduced to what a checker compares: for numeric answers a single value
(currency, units, thousands separators and the words around it dropped, the part after
the last ``=``), LaTeX (``\\frac{3}{4}``) kept as written for the domain's checker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..answers import (
    ANSWER_MARKERS,
    boxed_spans,
    choice_index,
    numbers_match,
    options_for,
    single_number,
)
from ..domains import CHOICE_LETTERS

#: how an answer was read, best first (the order breaks ties at one position)
METHODS = ("json", "boxed", "final_answer", "answer_is", "gsm8k", "answer_line", "last_number")
FALLBACKS = ("last_number", "last_choice")

_LATEX_VALUE = re.compile(r"\\(?:d|t)?frac|\\sqrt|\\pi|\^|\\cdot|\\times")
# a number as written in prose: sign (also the Unicode minus), currency, thousands
# separators, decimals, a plain fraction, a percent sign or word
_NUMBER = re.compile(
    r"(?<![\w.])([-−]?)\s?[$€£¥]?\s?([-−]?)"
    r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:\s?/\s?\d+)?|\.\d+)"
    r"(\s?(?:%|percent\b|per\s?cent\b))?",
    re.I,
)
_CHOICE_FALLBACK = re.compile(r"\(([A-Ea-e])\)|(?<![\w])([A-E])\)|^\s*([A-E])[.)]?\s*$", re.M)
_DECORATION = re.compile(r"\*\*|__|`|\\\(|\\\)|\\\[|\\\]|\$\$")


@dataclass(frozen=True)
class Extraction:
    answer: str | None
    method: str | None  # one of METHODS, "last_choice", or None when nothing was found

    @property
    def fallback(self) -> bool:
        return self.method in FALLBACKS


def _decoration_free(text: str) -> str:
    text = _DECORATION.sub(" ", text).replace("\\!", "").replace("\\,", "").replace("−", "-")
    text = re.sub(r"\\text\{([^{}]*)\}|\\mathrm\{([^{}]*)\}", r"\1\2", text)
    return text.strip().strip(":").strip()


def number_of(text: str) -> str | None:
    """The first number written in ``text``, as a checker reads it: ``"$1,250.50"`` ->
    ``"1250.50"``, ``"−3"`` -> ``"-3"``, ``"45 percent"`` -> ``"45%"``, ``"3/4 cup"`` ->
    ``"3/4"``."""
    match = _NUMBER.search(text)
    if not match:
        return None
    sign = "-" if (match.group(1) or match.group(2)) else ""
    value = match.group(3).replace(",", "").replace(" ", "")
    return sign + value + ("%" if match.group(4) else "")


def numeric_answer(candidate: str) -> str | None:
    """A marker's content reduced to one value, or None when it holds no number."""
    text = _decoration_free(candidate)
    boxed = boxed_spans(text)
    if boxed:
        text = boxed[-1][1]
    text = text.strip().strip("$").strip()
    if "=" in text:  # "16 - 3 = 13": the result is after the last "="
        text = text.rsplit("=", 1)[1].strip()
    if _LATEX_VALUE.search(text):  # \frac{3}{4}, 2\sqrt{3}: the domain's checker reads LaTeX
        value = re.split(r"\s(?:[a-zA-Z]{2,}\b)", text, maxsplit=1)[0]  # drop trailing words
        return value.strip().strip("$.").strip() or None
    return number_of(text)


def text_answer(candidate: str) -> str | None:
    text = _decoration_free(candidate)
    boxed = boxed_spans(text)
    if boxed:
        text = boxed[-1][1]
    text = text.strip().strip("$").strip().rstrip(".").strip()
    return text or None


def choice_answer(candidate: str, choices: Sequence[str]) -> str | None:
    """The letter of the option a marker's content names: its letter, its text, or the
    one number it holds when exactly one option holds that number ("975" names
    "975 mg": a model may answer an option's value rather than its letter)."""
    text = text_answer(candidate)
    if text is None:
        return None
    for attempt in (text, text.split("\n")[0], re.split(r"(?<=\S)[.,;] ", text)[0]):
        index = choice_index(attempt.strip().strip("*").strip(), choices)
        if index is not None:
            return CHOICE_LETTERS[index]
    return _option_of_number(text, choices)


def _option_of_number(text: str, choices: Sequence[str]) -> str | None:
    hits = options_for(text, choices, _same_number)
    return CHOICE_LETTERS[hits[0]] if len(hits) == 1 else None


def _same_number(option: str, value: str) -> bool:
    """Both hold one number, equal at the less precise side's places."""
    a, b = single_number(option), single_number(value)
    return a is not None and b is not None and numbers_match(a, b)


def _candidates(text: str) -> list[tuple[int, int, str, str]]:
    """``(position, priority, method, content)`` of every answer marker in ``text``."""
    found = [(pos, METHODS.index("boxed"), "boxed", body) for pos, body in boxed_spans(text)]
    for method, pattern in ANSWER_MARKERS.items():
        for match in pattern.finditer(text):
            content = match.group(1)
            if not _decoration_free(content):  # "Final Answer:\n$18$": the next line
                rest = text[match.end() :].lstrip("\n")
                content = rest.split("\n", 1)[0] if rest else ""
                if content.strip().startswith("\\["):  # a display block: up to its end
                    content = rest.split("\\]", 1)[0]
            found.append((match.start(), METHODS.index(method), method, content))
    return sorted(found)


def extract_answer(
    text: str, *, choices: Sequence[str] | None = None, numeric: bool = True
) -> Extraction:
    """The answer a reply gives (see the module docstring). ``numeric``: the reference is
    a number, so a marker must hold one; otherwise any non-empty text counts."""
    if choices:
        read = lambda content: choice_answer(content, choices)  # noqa: E731
    elif numeric:
        read = numeric_answer
    else:
        read = text_answer
    for _, _, method, content in reversed(_candidates(text)):
        answer = read(content)
        if answer is not None:
            return Extraction(answer, method)
    if choices:
        letters = [next(g for g in m.groups() if g) for m in _CHOICE_FALLBACK.finditer(text)]
        letters = [x.upper() for x in letters if ord(x.upper()) - ord("A") < len(choices)]
        return Extraction(letters[-1], "last_choice") if letters else Extraction(None, None)
    if numeric:
        numbers = [m for m in _NUMBER.finditer(_decoration_free(text))]
        if numbers:
            return Extraction(number_of(numbers[-1].group(0)), "last_number")
    return Extraction(None, None)


def looks_numeric(reference: str) -> bool:
    """Whether a reference answer is a number (or LaTeX value), so replies must give one."""
    text = reference.strip()
    return bool(text) and (number_of(text) is not None or bool(_LATEX_VALUE.search(text)))
