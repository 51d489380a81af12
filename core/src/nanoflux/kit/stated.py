"""What a code-first question states, and so what its program and its answer may be.

Free checks, before any model answers (a domain's ``screen()`` composes them):

* :func:`stated_numbers_problems`: a small Attacker often computes with a number its
  problem never states ("Charlie has some books" and ``charlie = 20``; "a 70 kg person"
  and ``height_m=1.75``): the problem cannot be solved, and only a Judge's solve, two
  model calls later, would find out. A number the program uses must be stated in the
  problem (in digits or words, or as a percentage of one), or be a constant a reader
  supplies (a unit conversion, halves and doubles; a pack adds its field's).
* :func:`answer_problems`: the program's value has the shape of a misread problem. In one
  math ``bench yield`` run, each of the four programs that returned 3.333333, 66.666667,
  -3.333333 or -800 had misread its own problem (the Judge's blind solve disagreed every
  time, after a Defender call and a solve each).
* :func:`reused_numbers_problems`: the program computes with exactly the numbers of an
  example the Attacker was shown, so its answer is the example's.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections.abc import Collection, Iterable
from pathlib import Path

from ..inputs import iter_jsonl

# What a reader brings without being told: small counts, halves, units of time, percent.
READER_CONSTANTS = frozenset({0, 1, 2, 3, 4, 0.5, 7, 10, 12, 24, 52, 60, 100, 365, 1000, 3600})
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "hundred": 100, "thousand": 1000, "dozen": 12, "half": 0.5, "twice": 2,
    "double": 2, "triple": 3, "thrice": 3, "quarter": 0.25, "third": 3, "fifth": 5,
}  # fmt: skip
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")
_WORD = re.compile(r"[a-z]+")
#: where a negative answer is what the question means
SIGNED_WORDS = re.compile(r"temperature|degrees|below|loss|lost|deficit|debt|net\b|change in", re.I)
#: why an answer must come out even, as the repair turn says it (math's word problems)
EXACT = "a word problem's numbers give an exact answer"
#: words after "how many" that name a measure, of which a value may hold a part (2.5
#: hours, 47.5 ounces, 1.5 times); after any other, the question counts things
MEASURES = frozenset(
    """
    second seconds minute minutes hour hours day days week weeks month months year years
    mile miles kilometer kilometers kilometre kilometres km meter meters metre metres
    centimeter centimeters cm millimeter millimeters foot feet inch inches yard yards
    pound pounds lb lbs ounce ounces oz gram grams kilogram kilograms kg ton tons
    liter liters litre litres ml gallon gallons quart quarts pint pints cup cups
    teaspoon teaspoons tablespoon tablespoons dollar dollars cent cents euro euros
    percent percentage degree degrees time times point points unit units acre acres
    """.split()
)
#: words that end what "how many" asks for ("how many apples does each friend get")
_AFTER_THING = frozenset(
    "are is was were do does did will would can could should has have had each in of "
    "per to for on at".split()
)
#: the last "how many" of a question and up to three words after it
_HOW_MANY = re.compile(r"\bhow\s+many\s+((?:[a-z'-]+\s+){0,2}[a-z'-]+)", re.IGNORECASE)
_TOLERANCE = 1e-9
#: the sentence of :func:`reused_numbers_problems`
REUSED = (
    "the program uses exactly the numbers of the example you were shown: write a new "
    "problem with new numbers"
)


def stated_numbers(text: str) -> set[float]:
    """Every number the text states, and what a percentage of it makes (15 % of, 15 %
    more, 15 % less): 15, 0.15, 1.15, 0.85."""
    lowered = text.lower()
    found = {float(m.replace(",", "")) for m in _NUMBER.findall(lowered)}
    found |= {float(NUMBER_WORDS[w]) for w in _WORD.findall(lowered) if w in NUMBER_WORDS}
    shares = {n / 100 for n in found}
    return found | shares | {1 + s for s in shares} | {1 - s for s in shares}


def program_numbers(program: str, *, given: Collection[str] = ()) -> list[float]:
    """The numeric literals of a program, in order, once each; a literal inside a call
    of a function named in ``given`` is left out (it builds what the text shows, as
    genomics' ``dna(seed=17, length=24)``, and is not itself stated)."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return []
    skipped = {
        id(node)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and _called(call) in given
        for node in ast.walk(call)
    }
    seen: list[float] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if id(node) not in skipped and float(node.value) not in seen:
                seen.append(float(node.value))
    return seen


def _called(call: ast.Call) -> str:
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def among(number: float, numbers: Iterable[float]) -> bool:
    return any(abs(number - n) <= _TOLERANCE for n in numbers)


#: a time of day: "8 am", "10:30 p.m."
CLOCK = re.compile(r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
#: hour counts a reader brings, unless the text gives times of day: then the hours
#: between them are what the problem states ("8 am until 10 pm" is 14 hours, not 12)
CLOCK_HOURS = frozenset({12.0, 24.0})


def clock_numbers(text: str) -> set[float]:
    """What times of day state: each as a 24-hour number (10 pm: 22, 10:30 pm: 22.5),
    and the hours and minutes from each to the next ("8 am until 10 pm": 14, 840)."""
    times = []
    for hour, minute, half in CLOCK.findall(text):
        h = int(hour) % 12 + (12 if half.lower() == "p" else 0)
        times.append(h + int(minute or 0) / 60)
    numbers = {round(t, 4) for t in times}
    for start, end in itertools.pairwise(times):
        hours = (end - start) % 24
        numbers |= {round(hours, 4), round(hours * 60, 4)}
    return numbers


def unstated_numbers(
    text: str,
    program: str,
    *,
    constants: Collection[float] = READER_CONSTANTS,
    given: Collection[str] = (),
) -> list[float]:
    """The program's numbers that the text does not state and a reader does not bring.
    Where the text gives times of day, the hours between them are stated and 12 and 24
    are no longer a reader's: a program that counts 12 hours from 8 am to 10 pm uses a
    number the problem does not state."""
    clock = clock_numbers(text)
    spans = len(CLOCK.findall(text)) > 1
    brought = {float(c) for c in constants} - (CLOCK_HOURS if spans else set())
    stated = stated_numbers(text) | clock | brought
    return [n for n in program_numbers(program, given=given) if not among(n, stated)]


def written(number: float) -> str:
    """A number as a program writes it: 20, not 20.0."""
    return str(int(number)) if float(number).is_integer() else repr(number)


def stated_numbers_problems(
    text: str,
    program: str | None,
    *,
    constants: Collection[float] = READER_CONSTANTS,
    given: Collection[str] = (),
) -> list[str]:
    """A sentence naming the numbers the program uses and the problem does not state
    (the first five), or none. ``constants``: what a reader of the field supplies;
    ``given``: functions whose literal arguments need not be stated."""
    if not program:
        return []
    missing = unstated_numbers(text, program, constants=constants, given=given)
    if not missing:
        return []
    listed = ", ".join(written(n) for n in missing[:5])
    return [
        f"the program uses {listed}, which the problem does not state: the problem "
        "must give every number its solution needs"
    ]


def answer_problems(
    text: str,
    answer: str | None,
    *,
    decimals: int = 2,
    exact: str = EXACT,
    signed: re.Pattern[str] = SIGNED_WORDS,
    whole_counts: bool = False,
) -> list[str]:
    """What the answer's shape says is wrong: it has more than ``decimals`` decimals (an
    unintended division, or a value left unrounded; ``exact`` says why it should not),
    or it is negative where the text has no word (``signed``) that allows it; with
    ``whole_counts``, it has a fraction where the question asks how many of a thing, not
    of a measure (:data:`MEASURES`): 8.5 apples, 27.5 cookies each."""
    if not answer:
        return []
    try:
        value = float(answer.replace(",", "").rstrip("%"))
    except ValueError:
        return []  # a fraction or an expression: the checker's business, not the screen's
    problems = []
    counted = _counted(text) if whole_counts and not answer.endswith("%") else None
    if "." in answer and len(answer.split(".", 1)[1]) > decimals:
        problems.append(f"the program's answer, {answer}, does not come out even: {exact}")
    elif counted and value != int(value):
        problems.append(
            f"the question asks how many {counted}, a count, but the program's answer is "
            f"{answer}: a count is a whole number"
        )
    if value < 0 and not signed.search(text):
        problems.append(
            f"the program's answer, {answer}, is negative: what the question asks for "
            "(a count, an amount, an age) cannot be"
        )
    return problems


def _counted(text: str) -> str | None:
    """What the text's last "how many" asks for, where it is a thing counted; None where
    it asks none, or names a measure in its next three words."""
    asked = _HOW_MANY.findall(text)
    if not asked:
        return None
    words = asked[-1].lower().split()
    if any(word in MEASURES for word in words):
        return None
    thing = list(itertools.takewhile(lambda word: word not in _AFTER_THING, words))
    return " ".join(thing or words[:1])


def reused_numbers_problems(
    program: str | None, examples: Iterable[frozenset[float]], *, least: int = 2
) -> list[str]:
    """A sentence if the program's numbers are exactly those of an example program
    (:func:`numbers_of`; ``least`` numbers at least): the question is the example's with
    new words, and its answer the example's."""
    if not program:
        return []
    numbers = numbers_of(program)
    if len(numbers) < least or numbers not in set(examples):
        return []
    return [REUSED]


def numbers_of(program: str) -> frozenset[float]:
    """Every numeric literal of a program, generators' arguments included: what makes two
    programs the same computation."""
    return frozenset(program_numbers(program))


@functools.cache
def seed_numbers(path: str, field: str = "program") -> tuple[frozenset[float], ...]:
    """:func:`numbers_of` each program (field ``field``) of a JSONL file of seeds, read
    once: what :func:`reused_numbers_problems` compares a program with."""
    return tuple(
        numbers_of(record[field])
        for _, record in iter_jsonl(Path(path))
        if isinstance(record.get(field), str)
    )
