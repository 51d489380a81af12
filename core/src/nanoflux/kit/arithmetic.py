"""The arithmetic a worked solution writes out, checked calculation by calculation.

A dataset example teaches its worked solution, so every calculation it writes must hold,
not only its last line. Two medicine examples of a yield run had references a program
verified (QTc 439, a clearance 12) and solutions with slips: ``380 / 0.866 ≈ 440.7`` (it is
438.79) and ``85 / 1.9 x 0.85 = 45.26 x 0.85`` (85 / 1.9 is 44.74). :func:`arithmetic_slips`
finds each written ``EXPRESSION = VALUE`` (or ``≈``; chains ``a = b = c`` link by link,
a running total ``45 + 30 = 75 + 20 = 95`` as its sums),
evaluates the expression over numbers and ``+ - × / ^``, ``sqrt``, ``exp`` and ``ln``
only (with :mod:`ast`, never ``eval``), and reports a slip where the value differs from
it by more than the value's own written rounding: half a unit in its last decimal place
(or a truncation there: ``2/3 = 0.66``), plus 1e-9 relative.

What it cannot read whole it skips, never flags: a side without an operator
(``2 hours = 120 minutes``), a number next to a word that may be part of the
calculation (``half of 10 + 2``), a letter (``2x + 3 = 7``), a time or a ratio. A number
an earlier line rounded (``√0.75 ≈ 0.866``) may stand for its exact value later, and
the middle of a chain (``= 400 / 0.913 =``) for values rounded on the way.

:func:`arithmetic_tool` makes the ``DOMAIN.arithmetic`` judge tool that checks a
question's worked solution; :func:`rounds_to_reference` compares an answer with a
reference at the reference's written precision.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from pydantic import Field

from ..records import Question, Record
from ..tools import JudgeTool

RELATIVE = 1e-9
#: the longest calculation read, in tokens: a longer one is skipped
MAX_TOKENS = 80


def within_rounding(value: float, written: float, decimals: int) -> bool:
    """Whether ``written``, a number written with ``decimals`` decimals, is ``value``
    rounded there: within half a unit in its last place, plus 1e-9 relative."""
    return abs(value - written) <= 0.5 * 10.0**-decimals + RELATIVE * abs(written)


def rounds_to_reference(
    reference: tuple[float, int, bool], candidate: tuple[float, int, bool]
) -> bool:
    """Whether ``candidate`` rounds to ``reference`` at the decimals the reference is
    written with (both ``(value, decimals, percent)``, as
    :func:`nanoflux.answers.single_number` reads them): 438.8 and 439.4 match 439, 441
    does not. A percentage also reads as its fraction (57.1% and 0.5712)."""
    value, places, percent = reference
    readings = [(value, places), (value / 100, places + 2)] if percent else [(value, places)]
    candidates = [candidate[0], candidate[0] / 100] if candidate[2] else [candidate[0]]
    return any(within_rounding(c, v, d) for v, d in readings for c in candidates)


@dataclass(frozen=True)
class Slip:
    """A written calculation that does not hold: ``expression`` is ``value``, not ``written``."""

    written: str
    expression: str
    value: float

    def __str__(self) -> str:
        return f"{self.written}: {self.expression} is {_shown(self.value)}"


def _shown(value: float) -> str:
    if value != 0 and abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def arithmetic_slips(text: str) -> list[Slip]:
    """The calculations ``text`` writes that do not hold, in the order written."""
    slips: list[Slip] = []
    earlier: dict[str, _Range] = {}
    for line in _lines(text):
        for run in _runs(_tokens(line)):
            slips += _check_run(run, line, earlier)
    return slips


def calculated(text: str) -> str | None:
    """What a calculator writes after the ``=`` that follows ``text``: the value of the
    calculation ``text`` ends on (``(140 - 68) × 62 / (72 × 1.3)`` gives ``47.6923``), or
    None where it does not end on one this module reads whole (``CrCl``, ``half of 10 +
    2``, ``2 hours``). A blind solve that writes its calculations this way cannot slip
    in them (:func:`nanoflux.engine.solving.answer_of`); what it calculates is still its own.
    """
    lines = _lines(text + " = 0")
    runs = _runs(_tokens(lines[-1])) if lines else []
    if not runs:
        return None
    run = runs[-1]
    sides, _ = _split(run.tokens)
    if len(sides) < 2:
        return None
    left = sides[-2]
    if len(sides) == 2:
        left = _strip_brackets(left, leading=True)
        if run.open_start:
            return None
    if not (_readable(left) and _has_operator(left)):
        return None
    try:
        value = _evaluate(left, {}, set())
    except _Unreadable:
        return None
    if not value.percent:
        return _written(value.middle)
    last = left[-1]
    if last.kind == "num" and last.percent and last.value == 100:
        return f"{_written(value.middle * 100)}%"  # 3 / 21 × 100%
    if all(t.text in "×·/" for t in left if t.kind == "op"):
        return _written(value.middle)  # 20% × 50
    return None  # 20% + 5%: a percentage or its fraction


def _written(value: float) -> str:
    """A calculator's display: whole numbers whole, others to 4 decimals (4 significant
    digits below 0.01), trailing zeros dropped."""
    if abs(value - round(value)) < 1e-9 * max(1.0, abs(value)):
        return str(round(value))
    shown = f"{value:.4g}" if abs(value) < 0.01 else f"{value:.4f}"
    return shown.rstrip("0").rstrip(".") if "e" not in shown else shown


# -- the text, normalized ------------------------------------------------------------------

_LATEX_WORDS = {
    "times": "×", "cdot": "·", "div": "/", "approx": "≈", "simeq": "≈", "pi": "π",
    "left": "", "right": "", "quad": " ; ", "qquad": " ; ", "%": "%", "$": "",
    ",": "", ";": " ", "!": "", " ": " ", "(": " ", ")": " ", "[": " ", "]": " ",
}  # fmt: skip
_TEXT_COMMAND = re.compile(
    r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname|boxed)\s*\{([^{}]*)\}"
)
_FRACTION = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_ROOT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+|[%$,;! ()\[\]])")
_LIST_MARK = re.compile(r"^\s*(?:\(?\d{1,2}[.)]|[-*•+>]|#+)\s+")
_REPLACEMENTS = (
    (re.compile(r"<<[^<>]*>>"), ""),  # GSM8K's calculator annotations
    (re.compile(r"(?<=[\d)])\*\*(?=[-\d(.])"), "^"),  # a power, not bold
    (re.compile(r"\*\*|_"), " "),  # bold
    (re.compile(r"(?<=[\w)%.])\*|\*(?=[\w(.√])|\s\*\s"), " × "),  # 3*m, amount*(3/4)
    (re.compile(r"[*`]"), " "),  # emphasis, code
    (re.compile(r"(\d)(?:\.\.\.|…)"), r"\1"),  # 8.333...: truncated, as any value may be
    (re.compile(r"[−‒]"), "-"),
    (re.compile(r"[✕✖⨯]"), "×"),
    (re.compile(r"[⋅∙]"), "·"),
    (re.compile(r"[÷∕⁄]"), "/"),
    (re.compile(r"(?<=[A-Za-zµμ])[²³]"), ""),  # kg², m³: a unit's, not a power
    (re.compile(r"²"), "^2"),
    (re.compile(r"³"), "^3"),
    (re.compile(r"[$€£¥₹]"), ""),
    # 5 x 12 and 5x12 are 5 × 12; 2x(3) and 2x-3 may be algebra
    (re.compile(r"(?<=[\d)%])(?:\s*×\s*|\s+[xX]\s+(?=[\d(.√])|[xX](?=\d))"), " × "),
    (re.compile(r"(\d)\s*(?:percent|per cent)\b", re.I), r"\1%"),
    (re.compile(r"(\d%)\s+of\s+(?=[\d.(√])", re.I), r"\1 × "),  # 20% of 45
    (re.compile(r"(?<![\d.])(\d+\s*/\s*\d+)\s+of\s+(?=[\d.(√])", re.I), r"(\1) × "),
    (re.compile(r"√\s*(\d+(?:\.\d+)?)"), r"√(\1)"),
    (re.compile(r"=\s*(?:approx\.|approximately|about|roughly|around)\s+", re.I), "≈ "),
    (re.compile(r"[=<>!+\-×/]=|=>"), " ; "),  # code's == and +=, an arrow: no calculation
    (
        re.compile(
            r"\b(?:step|part|case|stage|phase|day|week|month|year|option|method)\s+\d+[a-z]?"
            r"\s*[:.)\-–—]",
            re.I,
        ),
        " ; ",
    ),
)


def _latex(text: str) -> str:
    text = text.replace("{,}", ",").replace("\\\\", "\n").replace("&", " ")
    text = _TEXT_COMMAND.sub(r" \1 ", text)
    for _ in range(10):  # innermost first
        new = _FRACTION.sub(_fraction_text, _LATEX_ROOT.sub(r"√(\1)", text))
        if new == text:
            break
        text = new
    text = _COMMAND.sub(lambda m: _LATEX_WORDS.get(m[1], f" \\{m[1]} "), text)
    return text.replace("{", "(").replace("}", ")")


def _fraction_text(match: re.Match[str]) -> str:
    parts = [p if re.fullmatch(r"\s*[\d.,]+\s*", p) else f"({p})" for p in match.groups()]
    return f"({parts[0].strip()}/{parts[1].strip()})"


def _lines(text: str) -> list[str]:
    """The lines of ``text`` normalized; a line that starts with ``=``, or follows one
    that ends with it, continues the chain of the line before, and so does one that
    defines again the name the line before defines (:func:`_restated`)."""
    lines: list[str] = []
    for raw in _latex(text).splitlines():
        line = _LIST_MARK.sub("", raw)
        for pattern, replacement in _REPLACEMENTS:
            line = pattern.sub(replacement, line)
        line = line.strip()
        if lines and lines[-1] and (line[:1] in ("=", "≈") or lines[-1][-1] in "=≈"):
            lines[-1] += " " + line
        elif lines and (again := _restated(lines[-1], line)) is not None:
            lines[-1] += " = " + again
        else:
            lines.append(line)
    return lines


#: a line that gives a quantity a name: ``BSA = ...``, ``Cardiac index = ...``
_DEFINES = re.compile(r"([A-Za-z][\w'()]*(?: [A-Za-z][\w'()]*){0,3})\s*=\s*(.*)")


def _restated(before: str, line: str) -> str | None:
    """What ``line`` says the name is, where ``before`` defines the same name by a
    calculation it has not worked out: ``BSA = √(165 cm × 67 kg / 3600)``, then ``BSA =
    √(11025 / 3600)`` is one chain, so the calculator gives the second line the first's
    value and the checker finds the slip (165 × 67 is 11055; a medicine solve wrote that
    and an example taught it). ``Total = 5 + 3 = 8``, then ``Total = 8 + 2``, is not."""
    this, that = _DEFINES.fullmatch(line), _DEFINES.fullmatch(before)
    if not (this and that) or this.group(1).lower() != that.group(1).lower():
        return None
    worked_out = re.split(r"[=≈]", before)[-1]
    return this.group(2) if re.search(r"[-+×·/^√*]", worked_out) else None


# -- tokens --------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d|,\d)|\d+(?:\.\d+)?|\.\d+)(?P<pct>\s*%)?"
    r"|(?P<const>π|\bpi\b)"
    r"|(?P<rel>[≈≃≅~]|=)"
    r"|(?P<op>\^|[-+×·/])"
    r"|(?P<lp>[(\[])|(?P<rp>[)\]])"
    r"|(?P<func>√|\bsqrt\b|\bexp\b|\bln\b)"
    r"|(?P<word>\\?[A-Za-zµμ°Ω'][\w°µμΩ']*(?:/[A-Za-zµμ°][\w°µμ]*)*)"
    r"|(?P<space>\s+)"
    r"|(?P<punct>.)"
)
MATH = frozenset({"num", "const", "rel", "op", "lp", "rp", "func"})
#: words that may carry a calculation on: a number next to one is not read
ARITHMETIC_WORDS = frozenset(
    """of times plus minus divided by over into per half halves twice double doubled triple
    tripled thrice third thirds quarter quarters fifth fifths dozen dozens score hundred
    hundreds thousand thousands million millions billion squared cubed square cube root
    roots power powers less more fewer than product sum difference quotient remainder mod
    modulo percent percentage log log10 sin cos tan e cents cent pence""".split()
)
#: words that are no unit: between a number and an operator, they end the calculation
NOT_UNITS = frozenset(
    """the a an and or to for from with at on in is are was were be been so then that this
    which who already up down left total all also now it they he she we you i each every
    because since as if when but while thus hence therefore""".split()
)
#: words before a number that make it a label (day 1 * 2 = 20), not a quantity
LABELS = frozenset(
    """step day week month year part case stage phase page line row level grade round
    chapter question problem item no number""".split()
)
#: one-letter units read after a number and a space (any other letter may be a variable)
LETTER_UNITS = frozenset({"m", "g", "L", "s", "h"})
#: units read written against their number (5kg); other letters there are not read
GLUED_UNITS = frozenset(
    """kg mg mcg µg μg ug ng ml mL dl dL cm mm km in ft yd mi lb lbs oz mmHg min hr hrs
    sec ms bpm mEq mmol µmol μmol umol mol IU kcal cal °C °F ° bp kb Mb nt aa Da kDa nM µM
    μM uM mM""".split()
)


@dataclass
class _Token:
    kind: str
    text: str
    start: int
    end: int
    value: float = 0.0
    decimals: int = 0
    percent: bool = False
    #: the unit words written after a number (its quantity's kind), lower case, singular
    unit: str | None = None
    #: the calculation this token is in cannot be read
    unreadable: bool = False


def _tokens(line: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(line):
        kind = match.lastgroup if match.lastgroup != "pct" else "num"
        if kind == "space":
            continue
        token = _Token(kind, match.group(0), match.start(), match.end())
        if kind == "num":
            number = match.group("num").replace(",", "")
            token.value = float(number)
            token.decimals = len(number.split(".")[1]) if "." in number else 0
            token.percent = match.group("pct") is not None
            token.unreadable = re.match(r"0\d", number) is not None  # 0900: a time, a code
        elif kind == "const":
            token.value, token.decimals = math.pi, 15
        tokens.append(token)
    _mark_glued(tokens, line)
    return tokens


def _mark_glued(tokens: list[_Token], line: str) -> None:
    """A number written against a letter (2x, 3rd), a colon or a point (3:30, 1.2.3), or
    an ascending pair of whole numbers joined by a hyphen (weeks 1-2, 10-20 mg) is not a
    quantity this module can read."""
    for before, after in itertools.pairwise(tokens):
        if before.end != after.start:
            continue
        numeric = {before.kind, after.kind} & {"num", "const"}
        if before.kind == "num" and after.kind == "word":
            before.unreadable |= after.text.split("/")[0] not in GLUED_UNITS
        elif before.kind in ("word", "const") and after.kind in ("num", "const"):
            after.unreadable = True
        elif numeric and "punct" in (before.kind, after.kind):
            punct = before if before.kind == "punct" else after
            beyond = punct.end if punct is after else punct.start - 1
            if punct.text in ":.,'" and 0 <= beyond < len(line) and line[beyond].isdigit():
                (after if before is punct else before).unreadable = True
    for a, hyphen, b in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if hyphen.text == "-" and a.kind == b.kind == "num" and a.end == hyphen.start:
            if hyphen.end == b.start and not (a.decimals or b.decimals) and a.value < b.value:
                a.unreadable = b.unreadable = True


# -- runs: what a line writes in numbers and operators --------------------------------------


@dataclass
class _Run:
    tokens: list[_Token]
    #: the calculation may go on before the first token, or after the last
    open_start: bool = False
    open_end: bool = False
    #: the unit word written after the run's last number
    unit: str | None = None


def _runs(tokens: list[_Token]) -> list[_Run]:
    """Maximal stretches of numbers, operators and relations; a number's unit words
    belong to the stretch where an operator or a relation follows them."""
    runs, i = [], 0
    while i < len(tokens):
        if tokens[i].kind not in MATH:
            i += 1
            continue
        j = i
        while j < len(tokens):
            if tokens[j].kind in MATH:
                j += 1
            elif units := _unit_words(tokens, j):
                if tokens[j - 1].kind == "num":
                    tokens[j - 1].unit = _unit_of(tokens[j : j + units])
                j += units
            else:
                break
        run = _Run(tokens[i:j])
        # "243 cm 2/3 = 162": the words between two numbers may stand for an operator
        after_number = i > 1 and tokens[i - 1].kind == "word" and tokens[i - 2].kind == "num"
        run.open_start = after_number or (i > 0 and _carries(tokens[i - 1], tokens[i], True))
        run.open_end = j < len(tokens) and _carries(tokens[j], tokens[j - 1], False)
        if j < len(tokens) and tokens[j].kind == "word" and _unit_like(tokens[j].text):
            run.unit = _unit_of(tokens[j : j + 1])
        runs.append(run)
        i = j
    return runs


def _unit_words(tokens: list[_Token], j: int) -> int:
    """How many words from ``j`` are the unit of the number or bracket before them (two
    at most; followed by an operator, or after a number by a relation), or 0."""
    before = tokens[j - 1].kind if j else None
    if before not in ("num", "rp"):
        return 0
    k = j
    while k < len(tokens) and k - j < 2 and tokens[k].kind == "word":
        if not _unit_like(tokens[k].text):
            return 0
        k += 1
    follows = tokens[k].kind if j < k < len(tokens) else None
    if follows == "op" or (before == "num" and follows in ("rel", "rp")):
        return k - j
    return 0


def _unit_like(word: str) -> bool:
    lower = word.lower()
    if word.startswith("\\") or lower in ARITHMETIC_WORDS or lower in NOT_UNITS:
        return False
    return len(word) > 1 or word in LETTER_UNITS


def _unit_of(words: list[_Token]) -> str:
    return " ".join(w.text.lower().removesuffix("s") for w in words)


def _carries(neighbour: _Token, edge: _Token, first: bool) -> bool:
    """Whether the word or sign next to a run (before it: ``first``) may be part of its
    calculation: ``half of 10 + 2``, ``x + 3``, ``Monday - 5``, ``$1 / 2 = 50 cents``."""
    if neighbour.kind == "punct":
        return neighbour.text in "–—"  # a dash, a minus or a range
    if neighbour.kind != "word":
        return False
    word, lower = neighbour.text, neighbour.text.lower()
    if lower in ARITHMETIC_WORDS or word.startswith("\\"):
        return True
    if first:
        return edge.kind == "op" or len(word) == 1 or (lower in LABELS and edge.kind == "num")
    return len(word) == 1 and word not in LETTER_UNITS


# -- checking a run's relations ------------------------------------------------------------


def _check_run(run: _Run, line: str, earlier: dict[str, _Range]) -> list[Slip]:
    """Each link of the run's chain whose sides read whole: ``EXPRESSION = VALUE``, or
    ``EXPRESSION = EXPRESSION =`` in the middle of a chain."""
    sides, relations = _split(run.tokens)
    sides[0] = _strip_brackets(sides[0], leading=True)
    sides[-1] = _strip_brackets(sides[-1], leading=False)
    readable = [_readable(side) for side in sides]
    readable[0] = readable[0] and not run.open_start
    readable[-1] = readable[-1] and not run.open_end
    slips = []
    for i, relation in enumerate(relations):
        left, right = sides[i], sides[i + 1]
        value = _single_number(right)
        last = i + 1 == len(relations)
        if not (readable[i] and readable[i + 1] and _has_operator(left)):
            continue
        if value is None and last and not _fraction(right):
            continue  # "= 10-20 mg": a range, or an expression nothing evaluates
        try:
            # a number new in a chain's side was computed on the way: it may be rounded
            rounded = _new_numbers(left, sides[i - 1]) if i and readable[i - 1] else set()
            computed = _evaluate(left, earlier, rounded)
            if value is not None:
                stated = _value_range(value, approximate=relation.text != "=")
            else:
                stated = _evaluate(right, earlier, _new_numbers(right, left))
        except _Unreadable:
            continue
        if value is not None and last and None not in (run.unit, computed.unit):
            if run.unit != computed.unit:
                continue  # 1.5 hours + 0.5 hours = 120 minutes: converted on the way
        if not (computed.overlaps(stated) or _running_total(computed, right)):
            slips.append(Slip(_text(right, line), _text(left, line), computed.middle))
        elif value is not None:  # a value rounded here may stand for what it rounds
            written = value.value / (100 if value.percent else 1)
            earlier[value.text] = computed.hull(_Range(written, written, value.percent))
    return slips


def _running_total(computed: _Range, right: list[_Token]) -> bool:
    """``45 + 30 = 75 + 20 = 95``: a running total, written as a chain; the sum so far is
    the number the next side starts with."""
    if len(right) < 3 or right[0].kind != "num" or right[1].kind != "op":
        return False
    return computed.overlaps(_value_range(right[0], approximate=False))


def _new_numbers(side: list[_Token], before: list[_Token]) -> set[str]:
    return {t.text for t in side if t.kind == "num"} - {t.text for t in before}


def _split(tokens: list[_Token]) -> tuple[list[list[_Token]], list[_Token]]:
    sides: list[list[_Token]] = [[]]
    relations = []
    for token in tokens:
        if token.kind == "rel":
            relations.append(token)
            sides.append([])
        elif token.kind != "word":  # a unit word is not part of the value
            sides[-1].append(token)
    return sides, relations


def _strip_brackets(side: list[_Token], *, leading: bool) -> list[_Token]:
    """``(60 / 80 = 0.75)``: the bracket the relation sits in is no part of either side."""
    edge, bracket, sign = (0, "lp", 1) if leading else (-1, "rp", -1)
    while side and side[edge].kind == bracket and sign * _depth(side) > 0:
        side = side[1:] if leading else side[:-1]
    return side


def _depth(side: list[_Token]) -> int:
    return sum((t.kind == "lp") - (t.kind == "rp") for t in side)


def _readable(side: list[_Token]) -> bool:
    if not side or len(side) > MAX_TOKENS or any(t.unreadable for t in side):
        return False
    if _depth(side) != 0:
        return False
    first, last = side[0], side[-1]
    if first.kind == "op" and first.text not in "-+":
        return False
    if first.kind == "op" and (len(side) == 1 or side[1].start != first.end):
        return False  # "Monday - 5 × 12": a dash, not a sign
    return last.kind in ("num", "const", "rp")


def _has_operator(side: list[_Token]) -> bool:
    return any(t.kind == "func" or (t.kind == "op" and i > 0) for i, t in enumerate(side))


def _single_number(side: list[_Token]) -> _Token | None:
    if len(side) == 1 and side[0].kind == "num":
        return side[0]
    if len(side) == 2 and side[0].text == "-" and side[1].kind == "num":
        number = side[1]
        return replace(number, text=f"-{number.text}", start=side[0].start, value=-number.value)
    return None


def _fraction(side: list[_Token]) -> bool:
    """``3/4``: integers over integers, the one expression a chain may end with."""
    kinds = [t.kind for t in side]
    return (
        kinds == ["num", "op", "num"]
        and side[1].text == "/"
        and not any(t.decimals or t.percent for t in side[::2])
    )


def _text(side: list[_Token], line: str) -> str:
    return " ".join(line[side[0].start : side[-1].end].split())


# -- values as ranges ----------------------------------------------------------------------


class _Unreadable(ValueError):
    """A side this module does not evaluate: skipped, never flagged."""


@dataclass(frozen=True)
class _Range:
    """A value known to lie in ``[low, high]``: a number written rounded, or one computed
    from such numbers. ``percent``: a percentage (its value is the fraction; it may also
    be read as the percentage's number); ``unit``: what a sum's terms count."""

    low: float
    high: float
    percent: bool = False
    unit: str | None = None

    @property
    def middle(self) -> float:
        return (self.low + self.high) / 2

    def readings(self) -> list[_Range]:
        scaled = _Range(self.low * 100, self.high * 100)
        return [self, scaled] if self.percent else [self]

    def overlaps(self, other: _Range) -> bool:
        for a in self.readings():
            for b in other.readings():
                slack = RELATIVE * max(abs(a.low), abs(a.high), abs(b.low), abs(b.high))
                if a.low <= b.high + slack and b.low <= a.high + slack:
                    return True
        return False

    def hull(self, other: _Range) -> _Range:
        low, high = min(self.low, other.low), max(self.high, other.high)
        return _Range(low, high, self.percent, self.unit)


def _value_range(token: _Token, *, approximate: bool) -> _Range:
    """What a written value may stand for: the values it rounds or truncates, a
    percentage also as its fraction; ``≈ 440`` rounds to tens."""
    unit = 10.0**-token.decimals
    digits = token.text.lstrip("-").replace(",", "").rstrip("%").strip()
    if approximate and token.decimals == 0 and digits.strip("0"):
        unit = 10.0 ** (len(digits) - len(digits.rstrip("0")))
    value = token.value
    low, high = value - unit / 2, value + unit / 2
    if value >= 0:
        high = value + unit * (1 - 1e-6)  # truncated: 2/3 = 0.66 (but 9 is not 8)
    else:
        low = value - unit * (1 - 1e-6)
    if token.percent:
        return _Range(low / 100, high / 100, percent=True)
    return _Range(low, high)


def _number_range(token: _Token, earlier: dict[str, _Range], rounded: set[str]) -> _Range:
    """A number in an expression: as written; a value an earlier line rounded also as
    what it rounded; one computed on the way along a chain (``rounded``), any value it
    may round."""
    if token.kind == "const":
        return _Range(token.value, token.value)
    scale = 100 if token.percent else 1
    value = _Range(token.value / scale, token.value / scale, token.percent, token.unit)
    if token.text in earlier:
        value = value.hull(earlier[token.text])
    if token.text in rounded and token.decimals:
        half = 0.5 * 10.0**-token.decimals / scale
        value = value.hull(_Range(value.low - half, value.high + half))
    return value


_PYTHON_OP = {"+": "+", "-": "-", "×": "*", "·": "*", "/": "/", "^": "**"}


def _evaluate(side: list[_Token], earlier: dict[str, _Range], rounded: set[str]) -> _Range:
    """The range of values ``side`` may have; :class:`_Unreadable` if it is none."""
    source: list[str] = []
    ranges: list[_Range] = []
    grouped = _tight_fractions(side)
    for i, token in enumerate(side):
        if i in grouped:
            source.append("(")
        if token.kind in ("num", "const"):
            ranges.append(_number_range(token, earlier, rounded))
            source.append(f"_{len(ranges) - 1}")
        elif token.kind == "op":
            source.append(_PYTHON_OP[token.text])
        elif token.kind == "func":
            source.append({"√": "sqrt"}.get(token.text, token.text))
        else:
            source.append("(" if token.kind == "lp" else ")")
        if i - 2 in grouped:
            source.append(")")
        glued = i + 1 < len(side) and side[i + 1].start == token.end
        if glued and token.kind in ("num", "const", "rp") and side[i + 1].kind in ("lp", "func"):
            source.append("*")  # 2(3 + 4)
    names = {f"_{i}": r for i, r in enumerate(ranges)}
    try:
        tree = ast.parse(" ".join(source), mode="eval")
        value = _node_range(tree.body, names)
    except (SyntaxError, RecursionError, ValueError, OverflowError, ZeroDivisionError) as exc:
        raise _Unreadable(str(exc)) from None
    if not (math.isfinite(value.low) and math.isfinite(value.high)):
        raise _Unreadable("a value too large to check")
    return value


def _tight_fractions(side: list[_Token]) -> set[int]:
    """Where a fraction written tight after a division or a power starts: ``25 / 1/3``
    divides by a third and ``9^1/2`` is a square root, as their writers mean."""
    starts = set()
    for i in range(1, len(side) - 2):
        a, slash, b = side[i : i + 3]
        if side[i - 1].text in ("/", "^") and slash.text == "/" and a.kind == b.kind == "num":
            if a.end == slash.start and slash.end == b.start:
                starts.add(i)
    return starts


_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "ln": math.log,
}


def _node_range(node: ast.AST, names: dict[str, _Range]) -> _Range:
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _node_range(node.operand, names)
        if isinstance(node.op, ast.UAdd):
            return inner
        return _Range(-inner.high, -inner.low, inner.percent, inner.unit)
    if isinstance(node, ast.BinOp):
        return _binary(node.op, _node_range(node.left, names), _node_range(node.right, names))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and len(node.args) == 1
        and not node.keywords
    ):
        inner = _node_range(node.args[0], names)
        function = _FUNCTIONS[node.func.id]
        if inner.low < 0 or (node.func.id == "ln" and inner.low <= 0) or inner.high > 700:
            raise _Unreadable(f"{node.func.id} outside its domain")
        return _Range(function(inner.low), function(inner.high))  # increasing functions
    raise _Unreadable(type(node).__name__)


def _binary(op: ast.operator, a: _Range, b: _Range) -> _Range:
    if isinstance(op, ast.Add | ast.Sub):
        if a.percent != b.percent:
            raise _Unreadable("45 + 20%: a percentage added to a number")
        if a.unit and b.unit and a.unit != b.unit:
            raise _Unreadable("4 pounds - 6 ounces: a sum of different units")
        unit = a.unit or b.unit
        if isinstance(op, ast.Add):
            return _Range(a.low + b.low, a.high + b.high, a.percent, unit)
        return _Range(a.low - b.high, a.high - b.low, a.percent, unit)
    if isinstance(op, ast.Pow):
        return _power(a, b)
    if isinstance(op, ast.Mult):
        corners = [x * y for x in (a.low, a.high) for y in (b.low, b.high)]
    elif isinstance(op, ast.Div) and not (b.low <= 0 <= b.high or b.percent):
        corners = [x / y for x in (a.low, a.high) for y in (b.low, b.high)]
    else:  # a division by what may be zero, or per percent (7500/75% = 100)
        raise _Unreadable(type(op).__name__)
    # × 100% writes a fraction as a percentage: 3 / 21 × 100% = 14.28
    percent = a.percent or (b.percent and isinstance(op, ast.Mult))
    return _Range(min(corners), max(corners), percent)


def _power(base: _Range, exponent: _Range) -> _Range:
    if exponent.low != exponent.high or abs(exponent.low) > 64:
        raise _Unreadable("an exponent that is not one small number")
    power = exponent.low
    if base.low < 0 and (base.low != base.high or not power.is_integer()):
        raise _Unreadable("a power of a value that may be negative")
    if base.low == 0 and power < 0:
        raise _Unreadable("a negative power of zero")
    corners = [x**power for x in (base.low, base.high)]
    return _Range(min(corners), max(corners))


# -- the judge tool ------------------------------------------------------------------------


class SolutionArgs(Record):
    solution: str = Field(
        min_length=1, description="A worked solution; each calculation it writes is checked."
    )


def worked_text(question: Question) -> str:
    """The solution an example teaches: the blind solve that became ``solution``
    (code-first), else the stated steps. Not the explanation, which may show a wrong
    calculation on purpose."""
    return (question.solution or "\n".join(question.solution_steps)).strip()


def _applies(question: Question) -> dict | None:
    text = worked_text(question)
    return {"solution": text} if text else None


def first_slip(args: SolutionArgs) -> str | None:
    """The first slip (``"440.7: 380 / 0.866 is 438.79"``), or None when every calculation
    read holds."""
    slips = arithmetic_slips(args.solution)
    return str(slips[0]) if slips else None


#: what :func:`first_fault` says of a solution that writes no calculation (no number in
#: it, so no answer equals it)
NO_WORK = "no calculation: the solution names its steps but works none of them out"
# a line's bullet and its step's label ("- ", "**Step 2:**", "3.") are not calculation
_STEP_LABEL = re.compile(r"^[\s>*•-]*(?:step\s*\d+\s*[:.)]|\d+[.)](?=\s))?[\s*]*", re.IGNORECASE)
_OPERATION = re.compile(
    r"[-+*/×÷^=≈]|\b(?:plus|minus|times|divided|multiplied|equals?|sum|difference|product"
    r"|half|double|twice|of)\b|\d\s*x\s*\d",
    re.IGNORECASE,
)


def calculations_written(text: str) -> int:
    """How many lines of ``text`` write a calculation, in symbols or in words: two numbers
    and an operation (``30 + 28 = 58``, ``14 plus 8 equals 22``, ``10% of 10000``), a
    step's label and the closing ``Final answer`` line aside. Each of GSM8K's 7,473
    training solutions writes at least one."""
    count = 0
    for line in text.splitlines():
        body = _STEP_LABEL.sub("", line)
        if body.strip().lower().startswith("final answer"):
            continue
        numbers = sum(token.kind == "num" for token in _tokens(body))
        count += numbers >= 2 and _OPERATION.search(body) is not None
    return count


def first_fault(args: SolutionArgs) -> str | None:
    """:func:`first_slip`, or :data:`NO_WORK` for a solution that writes no calculation
    at all ("1. Calculate the number of apples sold. 2. Subtract the apples left over.
    Final answer: 75"): an example teaches its solution, and that one teaches nothing."""
    if not calculations_written(args.solution):
        return NO_WORK
    return first_slip(args)


def arithmetic_tool(domain: str, *, shows_work: bool = False) -> JudgeTool:
    """``DOMAIN.arithmetic``: check each calculation a question's worked solution writes.

    It applies to a question with a worked solution and checks ``"consistency"``: its
    value is None when every calculation it reads holds (it says nothing: right
    arithmetic does not make a right answer), else the first slip, written as
    ``VALUE: EXPRESSION is TRUE``, which no answer equals, so the reference is
    contradicted and the attempt is rejected as unverified. With ``shows_work`` (a domain
    whose every solution calculates, as math's do), a solution that writes no
    calculation is contradicted too (:func:`first_fault`).
    """
    return JudgeTool(
        id=f"{domain}.arithmetic",
        domain=domain,
        description=(
            "Check each calculation a worked solution writes (EXPRESSION = VALUE, ≈, chains) "
            "to the value's written rounding; the value is the first slip, or None."
            + (" A solution that writes no calculation at all is a fault." if shows_work else "")
        ),
        args_model=SolutionArgs,
        function=first_fault if shows_work else first_slip,
        applies_to=_applies,
        checks="consistency",
    )
