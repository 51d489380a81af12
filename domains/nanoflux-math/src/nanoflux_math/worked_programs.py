"""GSM8K solutions as straight-line ``solution()`` programs, for seeded attacks.

A code-first Attacker replies with a problem and a program. Shown a seed in words, the
1.5B Attacker ignored it and wrote one-step problems (7 of 10 first attacks of a
``bench yield`` run had one step); shown the seed *in the form of its own reply*, a
problem and its program, it kept the seed's steps (8 of 10 had two or more). GSM8K
writes every step's arithmetic as a calculator annotation (``<<80-40=40>>``), so the
program is read off the solution: one line per annotation, an earlier result referred
to by its name. A program is kept only when it recomputes the item's own answer, so a
seed never shows a wrong program.

Reading is bounded, since a seeds or benchmark file is data from anywhere: a solution
longer than MAX_SOLUTION_CHARS or with more than MAX_STEPS annotations, or a step whose
value leaves +-MAX_VALUE, gives no program (the item still loads). Evaluated as exact
integers, 40 annotations that each square the last took hours; bounded, every step is
one float operation. There is no power operator to bound: ``**`` is not read.
"""

from __future__ import annotations

import ast
import keyword
import operator
import re

#: GSM8K's longest training solution has 1,220 characters and 8 steps
MAX_SOLUTION_CHARS = 10_000
MAX_STEPS = 40
#: beyond 2**53 a float no longer holds every integer; GSM8K's values stay under 10**8
MAX_VALUE = 10**15

_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
#: the whole annotation, as GSM8K writes it inside a step: ``48/2 = <<48/2=24>>24``
_ANNOTATION_TEXT = re.compile(r"<<[^<>]*>>")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_WORD = re.compile(r"[a-z]+")
# words that name nothing a variable could be called after
_FILLER = frozenset(
    "the a an of is are was were will be has have had to in on at for and so then that "
    "this it its they he she his her their total altogether together each per there "
    "which what how many much if".split()
)
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def strip_annotations(solution: str) -> str:
    """A GSM8K solution as a reader sees it: ``48/2 = <<48/2=24>>24`` reads ``48/2 = 24``."""
    return _ANNOTATION_TEXT.sub("", solution)


def _value(node: ast.AST, names: dict[str, float]) -> float:
    """Arithmetic only: numbers, earlier names, + - * / and a minus sign, in floats
    within +-MAX_VALUE (ValueError otherwise)."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _bounded(node.value)
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _value(node.left, names), _value(node.right, names)
        return _bounded(_OPERATORS[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand, names)
    raise ValueError("not arithmetic")


def _bounded(number: float) -> float:
    # an int this large would not convert (OverflowError): compare before converting
    if not -MAX_VALUE <= number <= MAX_VALUE:
        raise ValueError("out of range")
    return float(number)


def _name(words_before: str, taken: set[str]) -> str:
    """A variable named after the last words before the step's arithmetic."""
    words = [
        w
        for w in _WORD.findall(words_before.lower())
        if w not in _FILLER and len(w) > 1 and not keyword.iskeyword(w)
    ]
    base = "_".join(words[-2:]) or "step"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def gsm8k_program(question: str, solution: str, answer: str) -> str | None:
    """The program a GSM8K solution's annotations spell, or None when it has fewer than
    two steps, a step that is not plain arithmetic, or a value other than ``answer``;
    also when it is larger than the bounds in the module's docstring."""
    if len(solution) > MAX_SOLUTION_CHARS:
        return None
    given = set(_NUMBER.findall(question.replace(",", "")))
    lines: list[str] = []
    values: dict[str, float] = {}  # each step's name: its value
    named: dict[str, str] = {}  # a result as the solution writes it: its latest step's name
    taken: set[str] = set()

    def refer(number: re.Match[str]) -> str:
        # an earlier result by its name; a number the problem states stays one
        text = number.group(0)
        return text if text in given else named.get(text, text)

    for line in solution.splitlines():
        for match in _ANNOTATION.finditer(line):
            if len(lines) == MAX_STEPS:
                return None
            expression = _NUMBER.sub(refer, match.group(1).strip())
            result = match.group(2).strip()
            name = _name(re.split(r"[=\d$]", line[: match.start()])[0], taken)
            try:
                values[name] = _value(ast.parse(expression, mode="eval").body, values)
            except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
                return None
            lines.append(f"    {name} = {expression}")
            named[result] = name
    if len(lines) < 2:
        return None
    try:
        if not abs(values[name] - float(answer.replace(",", ""))) <= 1e-6:  # NaN too
            return None
    except ValueError:
        return None
    return "\n".join(["def solution():", *lines, f"    return {name}"]) + "\n"
