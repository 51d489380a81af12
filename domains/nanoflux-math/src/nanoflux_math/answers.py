"""Comparing math answers the way graders of GSM8K and MATH do.

Answers arrive as model text: ``"1,234"``, ``"$5"``, ``"50%"``, ``"\\frac{3}{4}"``,
``"x = 5"``, ``"\\boxed{2\\sqrt{3}}"``. :func:`equivalent` reduces both sides to numbers
or sympy expressions and compares them: numbers with a tolerance, expressions
symbolically. Model text is untrusted, so expressions are read by a small parser of our
own that builds sympy objects directly; ``sympy.parse_expr`` would ``eval`` the text.

Why not Hugging Face's ``math-verify`` (0.9): its plain-expression path hands model text
to ``sympy.parse_expr`` (only strings of digits, operators and brackets, so no names can
be called, but ``9^9^9^9`` and deep nesting are evaluated), and its only guard against a
hanging comparison is ``signal.alarm``, which raises off the main thread, where an
evaluation's checker may run. Its strength is MATH-style LaTeX (sets, matrices,
intervals); GSM8K references are numbers, which this module compares exactly. Replies are
read by :mod:`nanoflux.evaluation.extraction` before they reach :func:`equivalent`.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from nanoflux.answers import last_boxed
from nanoflux.kit import as_text

if TYPE_CHECKING:  # sympy takes a second to import: only when an expression needs it
    import sympy

REL_TOL = 1e-6
ABS_TOL = 1e-9
MAX_EXPONENT = 10_000  # 2^(2^(2^20)) would hang; real answers stay far below this
MAX_LENGTH = 400


@dataclass(frozen=True)
class Equivalence:
    equivalent: bool
    method: str  # numeric | symbolic | tuple | text
    a: str
    b: str

    def as_dict(self) -> dict:
        return {"equivalent": self.equivalent, "method": self.method, "a": self.a, "b": self.b}


__all__ = ["Equivalence", "answer_text", "equivalent", "final_answer", "last_boxed", "normalise"]


# -- finding the answer in a reply --------------------------------------------------------


_FINAL = re.compile(r"(?:final answer|the answer is|answer)\s*[:=]?\s*(?:is\s*)?", re.I)


def final_answer(text: str) -> str:
    """The answer part of a reply: a boxed value, ``#### N``, ``Final answer: X``, or the text."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip()
    if "####" in text:
        return text.rsplit("####", 1)[1].strip()
    matches = list(_FINAL.finditer(text))
    if matches:
        tail = text[matches[-1].end() :].strip()
        if tail:
            return tail.splitlines()[0].strip()
    return text.strip()


# -- normalising ---------------------------------------------------------------------------

_TEXT_COMMANDS = re.compile(
    r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}"
)
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_NUMBER_WITH_UNIT = re.compile(r"^(-?\d[\d,]*(?:\.\d+)?)\s+[A-Za-z][A-Za-z ./^0-9]*$")
_MIXED = re.compile(r"(\d+)\s*\\[dt]?frac\s*\{(\d+)\}\s*\{(\d+)\}")


def normalise(text: str) -> str:
    """Strip what does not change the value: delimiters, currency, units, ``x =``, spacing."""
    s = final_answer(str(text))
    s = s.strip().rstrip(".").strip().replace("−", "-")  # the Unicode minus models write
    s = re.sub(r"\s*(?:percent|per cent)$", "%", s, flags=re.I)
    s = s.replace("\\$", "").replace("$", "").replace("\\!", "").replace("\\,", "")
    s = s.replace("\\;", "").replace("\\ ", " ").replace("~", " ")
    s = _TEXT_COMMANDS.sub(lambda m: m.group(1), s)
    s = s.replace("^\\circ", "").replace("^{\\circ}", "").replace("°", "").replace("\\circ", "")
    s = re.sub(r"\\?%", "%", s)
    s = s.replace("\\left", "").replace("\\right", "").replace("\\displaystyle", "")
    s = re.sub(r"^[a-zA-Z]\s*=\s*", "", s.strip())  # "x = 5" -> "5"
    s = s.strip()
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    elif match := _NUMBER_WITH_UNIT.match(s):  # "12 cm", "5 dollars": a number and words
        s = match.group(1)
        if _THOUSANDS.match(s):
            s = s.replace(",", "")
    return s.strip()


# -- numbers -------------------------------------------------------------------------------

_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_FRACTION = re.compile(r"^([+-]?\d+)\s*/\s*(\d+)$")


@dataclass(frozen=True)
class Number:
    value: Fraction
    decimals: int | None  # digits after the point as written, for rounding tolerance
    percent: bool = False


def parse_number(text: str) -> Number | None:
    """A plain number: ``42``, ``-0.5``, ``1e3``, ``3/4``, ``50%``. None for anything else."""
    s = normalise(text)
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    if _DECIMAL.match(s):
        mantissa = s.split("e")[0].split("E")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return Number(Fraction(s), decimals, percent)
    match = _FRACTION.match(s)
    if match and int(match.group(2)) != 0:
        return Number(Fraction(int(match.group(1)), int(match.group(2))), None, percent)
    return None


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= max(ABS_TOL, REL_TOL * max(abs(x), abs(y)))


def numbers_equal(a: Number, b: Number) -> bool:
    """Equal within tolerance; a side written with d >= 2 decimals also matches the other
    side rounded to d decimals (``33.33`` matches ``100/3``). A percentage matches either
    its number or its fraction (``50%`` is ``50`` and ``0.5``)."""

    def candidates(n: Number) -> list[Fraction]:
        return [n.value, n.value / 100] if n.percent else [n.value]

    def rounds_to(written: Number, value: Fraction) -> bool:
        places = written.decimals
        if places is None or places < 2 or written.percent:
            return False
        return round(float(value), places) == round(float(written.value), places)

    for x in candidates(a):
        for y in candidates(b):
            if _close(float(x), float(y)):
                return True
    return rounds_to(a, b.value) or rounds_to(b, a.value)


# -- expressions ---------------------------------------------------------------------------


class _ParseError(ValueError):
    pass


_FUNCTION_NAMES = {
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "log": "log",
    "ln": "log",
    "exp": "exp",
    "abs": "Abs",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
}
_CONSTANT_NAMES = {"pi": "pi", "e": "E", "i": "I", "infty": "oo", "inf": "oo"}


@functools.cache
def _sympy():
    import sympy

    return sympy


_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*|\.\d+)|([a-zA-Z]+)|(\*\*|[-+*/^()!]))")


def _latex_to_plain(s: str) -> str:
    s = _MIXED.sub(r"(\1+\2/\3)", s)
    s = re.sub(r"\\[dt]?frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    for _ in range(20):  # innermost first, so nested fractions unwind
        new = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", s)
        new = re.sub(r"\\sqrt\s*\[([^\[\]]*)\]\s*\{([^{}]*)\}", r"((\2)^(1/(\1)))", new)
        new = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", new)
        new = re.sub(r"\^\s*\{([^{}]*)\}", r"^(\1)", new)
        if new == s:
            break
        s = new
    s = re.sub(r"\\sqrt\s*(\d+|[a-zA-Z])", r"sqrt(\1)", s)
    for command, plain in (
        ("\\cdot", "*"),
        ("\\times", "*"),
        ("\\div", "/"),
        ("\\pi", " pi "),
        ("\\infty", " infty "),
        ("\\ln", " ln "),
        ("\\log", " log "),
        ("\\sin", " sin "),
        ("\\cos", " cos "),
        ("\\tan", " tan "),
    ):
        s = s.replace(command, plain)
    s = s.replace("{", "(").replace("}", ")").replace("[", "(").replace("]", ")")
    if "\\" in s:
        raise _ParseError(f"unsupported LaTeX in {s!r}")
    return s


class _Parser:
    """expr := term (+|- term)*; term := unary ((*|/)? unary)*; unary := (+|-) unary | power;
    power := postfix (^ unary)?; postfix := atom !*; atom := number | name | f(expr) | (expr)."""

    def __init__(self, text: str):
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match:
                raise _ParseError(f"unexpected {text[pos : pos + 10]!r}")
            number, name, op = match.groups()
            if number is not None:
                self.tokens.append(("num", number))
            elif name is not None:
                self._names(name)
            else:
                self.tokens.append(("op", "^" if op == "**" else op))
            pos = match.end()
        self.pos = 0

    def _names(self, word: str) -> None:
        lowered = word.lower()
        if lowered in _FUNCTION_NAMES or lowered in _CONSTANT_NAMES:
            self.tokens.append(("name", lowered))
            return
        if len(word) > 2:  # a word, not a product of variables
            raise _ParseError(f"unknown name {word!r}")
        for letter in word:  # "xy" is x*y
            self.tokens.append(("name", letter))

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _ParseError("unexpected end")
        self.pos += 1
        return token

    def parse(self) -> sympy.Expr:
        if not self.tokens:
            raise _ParseError("empty")
        value = self.expr()
        if self.peek() is not None:
            raise _ParseError(f"unexpected {self.peek()[1]!r}")
        return value

    def expr(self) -> sympy.Expr:
        value = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self) -> sympy.Expr:
        value = self.unary()
        while True:
            token = self.peek()
            if token in (("op", "*"), ("op", "/")):
                self.take()
                right = self.unary()
                if token[1] == "/":
                    if right == 0:
                        raise _ParseError("division by zero")
                    value = value / right
                else:
                    value = value * right
            elif token is not None and (token[0] in ("num", "name") or token == ("op", "(")):
                value = value * self.power()  # implicit multiplication: 2x, 2(x+1), 2pi
            else:
                return value

    def unary(self) -> sympy.Expr:
        token = self.peek()
        if token in (("op", "-"), ("op", "+")):
            self.take()
            value = self.unary()
            return -value if token[1] == "-" else value
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.postfix()
        if self.peek() == ("op", "^"):
            self.take()
            exponent = self.unary()
            if exponent.is_number and abs(complex(_sympy().N(exponent, 15))) > MAX_EXPONENT:
                raise _ParseError("exponent too large")
            return base**exponent
        return base

    def postfix(self) -> sympy.Expr:
        value = self.atom()
        while self.peek() == ("op", "!"):
            self.take()
            if not (value.is_Integer and 0 <= value <= 1000):
                raise _ParseError("factorial of a large or non-integer value")
            value = _sympy().factorial(value)
        return value

    def atom(self) -> sympy.Expr:
        kind, text = self.take()
        sympy = _sympy()
        if kind == "num":
            return sympy.Rational(text)
        if kind == "name":
            if text in _FUNCTION_NAMES:
                if self.peek() == ("op", "("):
                    self.take()
                    argument = self.expr()
                    self._expect(")")
                else:
                    argument = self.postfix()
                return getattr(sympy, _FUNCTION_NAMES[text])(argument)
            if text in _CONSTANT_NAMES:
                return getattr(sympy, _CONSTANT_NAMES[text])
            return sympy.Symbol(text)
        if text == "(":
            value = self.expr()
            self._expect(")")
            return value
        raise _ParseError(f"unexpected {text!r}")

    def _expect(self, op: str) -> None:
        if self.take() != ("op", op):
            raise _ParseError(f"expected {op!r}")


def parse_expression(text: str) -> sympy.Expr | None:
    """A sympy expression for an answer, or None when it is not one we can read."""
    s = normalise(text)
    if not s or len(s) > MAX_LENGTH:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    try:
        value = _Parser(_latex_to_plain(s)).parse()
    except (_ParseError, TypeError, ValueError, ZeroDivisionError, RecursionError):
        return None
    return value / 100 if percent else value


def _numeric(expr: sympy.Expr) -> complex | None:
    try:
        value = complex(_sympy().N(expr, 30))
    except (TypeError, ValueError, OverflowError):
        return None
    return value


def expressions_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Equal as expressions: numerically when both are numbers, else symbolically (with a
    random-point check first, so one slow ``simplify`` is only a last resort)."""
    sympy = _sympy()
    if a.free_symbols or b.free_symbols:
        symbols = sorted(a.free_symbols | b.free_symbols, key=str)
        rng = random.Random(0)
        for _ in range(5):
            point = {s: sympy.Rational(rng.randint(11, 97), 37) for s in symbols}
            x, y = _numeric(a.subs(point)), _numeric(b.subs(point))
            if x is None or y is None:
                break
            if abs(x - y) > max(ABS_TOL, REL_TOL * max(abs(x), abs(y))):
                return False
        else:
            return True
        difference = a - b
        if sympy.count_ops(difference) > 60:
            return False
        return sympy.simplify(difference) == 0
    x, y = _numeric(a), _numeric(b)
    if x is None or y is None:
        return a == b
    return abs(x - y) <= max(ABS_TOL, REL_TOL * max(abs(x), abs(y)))


# -- comparing answers -----------------------------------------------------------------------


def _split_top_level(s: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in s:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _text_key(s: str) -> str:
    return re.sub(r"\s+", "", normalise(s)).casefold()


def equivalent(a: str, b: str) -> Equivalence:
    """Whether two answers are the same value (see the module docstring)."""
    a, b = str(a), str(b)
    na, nb = normalise(a), normalise(b)
    x, y = parse_number(na), parse_number(nb)
    if x is not None and y is not None:
        return Equivalence(numbers_equal(x, y), "numeric", na, nb)
    parts_a, parts_b = _split_top_level(_unwrap(na)), _split_top_level(_unwrap(nb))
    if len(parts_a) > 1 or len(parts_b) > 1:
        return Equivalence(_tuples_equal(na, nb, parts_a, parts_b), "tuple", na, nb)
    ea, eb = parse_expression(na), parse_expression(nb)
    if ea is not None and eb is not None:
        for written, expr in ((x, eb), (y, ea)):
            # "3.14" against pi: a written decimal may round the exact value
            if written is not None and not expr.free_symbols:
                value = _numeric(expr)
                if value is not None and value.imag == 0 and abs(value.real) < 1e300:
                    exact = Number(Fraction(value.real), None)
                    return Equivalence(numbers_equal(written, exact), "numeric", na, nb)
        return Equivalence(expressions_equal(ea, eb), "symbolic", na, nb)
    return Equivalence(_text_key(na) == _text_key(nb), "text", na, nb)


def _unwrap(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] in "([{" and s[-1] in ")]}" and _balanced(s[1:-1]):
        return s[1:-1]
    return s


def _balanced(s: str) -> bool:
    depth = 0
    for char in s:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _tuples_equal(na: str, nb: str, parts_a: list[str], parts_b: list[str]) -> bool:
    if len(parts_a) != len(parts_b):
        return False
    bracketed = na[:1] in "([{" or nb[:1] in "([{"
    if bracketed:  # an ordered tuple or interval: brackets and order matter
        if (na[:1], na[-1:]) != (nb[:1], nb[-1:]):
            return False
        return all(equivalent(p, q).equivalent for p, q in zip(parts_a, parts_b, strict=True))
    remaining = list(parts_b)  # a bare list ("2, 3") is a set of solutions: order is free
    for p in parts_a:
        match = next((q for q in remaining if equivalent(p, q).equivalent), None)
        if match is None:
            return False
        remaining.remove(match)
    return True


def answer_text(value: object) -> str:
    """A program's value as answer text: lists joined by commas, integral floats as integers
    (the kit's rule for every tool's value, so a loaded target and a tool agree)."""
    return as_text(value)
