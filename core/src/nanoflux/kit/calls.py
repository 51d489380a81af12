"""What a program passes to a pack's functions, read from its syntax before it runs.

A domain pack lets its programs import its own functions (medicine's calculators,
genomics' sequence operations). What such a call receives decides whether the question
is sound: a calculator argument the vignette never states, or a weight of 700 kg, makes
a reference that no reader can reach; a sequence the program builds but the problem does
not show makes a problem no reader can solve. :func:`calls_in` reads each call's
arguments where the program's own literals decide them (``weight = 154 / 2.2`` then
``bmi(weight_kg=weight, ...)``), without running anything but the pure functions a pack
names; :func:`argument_problems` and :func:`unshown_problems` turn them into the
sentences of a repair turn.
"""

from __future__ import annotations

import ast
import inspect
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from .stated import among, stated_numbers

#: what an argument is when the program's literals do not decide it
UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda self: "UNKNOWN"})()

_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
#: builtins a fold may call: what a program does to a stated number on its way to a call
_BUILTINS: dict[str, Callable[..., Any]] = {
    "round": round,
    "abs": abs,
    "min": min,
    "max": max,
    "float": float,
    "int": int,
}
_MAX_DEPTH = 64
_MAX_POWER = 64
_MAX_BITS = 256


@dataclass(frozen=True)
class Call:
    """One call of a pack function: its name, its line, and each argument by parameter
    name, its value where the program's literals decide it, else :data:`UNKNOWN`."""

    function: str
    line: int
    arguments: dict[str, Any]
    #: the parameters given a literal (or a name bound to one) other than their default:
    #: values the text must state
    literal: frozenset[str] = frozenset()
    #: the call as the program writes it
    source: str = ""


def public_functions(module: ModuleType) -> dict[str, Callable[..., Any]]:
    """The functions a module defines and does not hide (no leading underscore)."""
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }


def calls_in(
    program: str,
    functions: Mapping[str, Callable[..., Any]],
    *,
    pure: Mapping[str, Callable[..., Any]] | None = None,
) -> list[Call]:
    """Every call of a function in ``functions`` (by its name, as imported), in order.
    A call whose arguments do not fit the function's signature is left out: the
    program's run reports it. ``pure``: functions a fold may call to know a value (a
    sequence generator); by default none."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return []
    folder = _Folder(_bindings(tree), dict(_BUILTINS) | dict(pure or {}))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _name_of(node) not in functions:
            continue
        call = _call(node, functions[_name_of(node)], folder, program)
        if call is not None:
            found.append(call)
    return sorted(found, key=lambda call: call.line)


def _call(node: ast.Call, function: Callable, folder: _Folder, program: str) -> Call | None:
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    try:
        signature = inspect.signature(function)
        bound = signature.bind_partial(*node.args, **keywords)
    except (TypeError, ValueError):
        return None
    arguments = {key: folder.fold(value) for key, value in bound.arguments.items()}
    defaults = {name: p.default for name, p in signature.parameters.items()}
    literal = frozenset(
        key
        for key, value in bound.arguments.items()
        if folder.is_literal(value) and arguments[key] != defaults.get(key)
    )
    source = ast.get_source_segment(program, node) or _name_of(node)
    return Call(_name_of(node), node.lineno, arguments, literal, source)


def _name_of(call: ast.Call) -> str:
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def _bindings(tree: ast.AST) -> dict[str, ast.expr | None]:
    """Each name assigned once (``x = ...``) and its expression; a name assigned again,
    or by a loop, augmented or unpacking assignment, is None (the syntax does not say
    which value a call sees)."""
    bindings: dict[str, ast.expr | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            for name in _assigned_names(node):
                bindings[name] = None
            continue
        if isinstance(target, ast.Name):
            bindings[target.id] = None if target.id in bindings else value
        else:
            for name in _assigned_names(node):
                bindings[name] = None
    return bindings


def _assigned_names(node: ast.AST) -> list[str]:
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.For | ast.comprehension):
        targets = [node.target]
    elif isinstance(node, ast.NamedExpr):
        targets = [node.target]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


class _Folder:
    """Values of expressions built from literals, names bound once, arithmetic and the
    calls it may make; anything else is :data:`UNKNOWN`."""

    def __init__(self, bindings: dict[str, ast.expr | None], callable_: dict[str, Callable]):
        self.bindings = bindings
        self.callable = callable_
        # each name's value, folded once: a name used twice in each of many lines would
        # otherwise be folded exponentially often
        self.values: dict[str, Any] = {}

    def is_literal(self, node: ast.expr, depth: int = 0) -> bool:
        """A number or text written as it is, maybe signed, maybe through a name."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            node = node.operand
        if isinstance(node, ast.Name) and depth < _MAX_DEPTH:
            bound = self.bindings.get(node.id)
            return bound is not None and self.is_literal(bound, depth + 1)
        return isinstance(node, ast.Constant) and isinstance(node.value, int | float | str)

    def fold(self, node: ast.expr, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            return UNKNOWN
        try:
            return self._fold(node, depth)
        except (ArithmeticError, ValueError, TypeError, OverflowError):
            return UNKNOWN

    def _fold(self, node: ast.expr, depth: int) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.values:
                self.values[node.id] = UNKNOWN  # while it is folded: a cycle is unknown
                bound = self.bindings.get(node.id)
                self.values[node.id] = UNKNOWN if bound is None else self.fold(bound, depth + 1)
            return self.values[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.fold(node.operand, depth + 1)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return -value if isinstance(node.op, ast.USub) else value
            return UNKNOWN
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return self._arithmetic(node, depth)
        if isinstance(node, ast.Call) and _name_of(node) in self.callable:
            return self._call(node, depth)
        return UNKNOWN

    def _arithmetic(self, node: ast.BinOp, depth: int) -> Any:
        left, right = self.fold(node.left, depth + 1), self.fold(node.right, depth + 1)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if not numbers or (isinstance(node.op, ast.Pow) and abs(right) > _MAX_POWER):
            return UNKNOWN
        value = _OPERATORS[type(node.op)](left, right)
        # names folded into names can square a number 32 times over: no reader states it
        return UNKNOWN if isinstance(value, int) and value.bit_length() > _MAX_BITS else value

    def _call(self, node: ast.Call, depth: int) -> Any:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            return UNKNOWN
        args = [self.fold(a, depth + 1) for a in node.args]
        kwargs = {k.arg: self.fold(k.value, depth + 1) for k in node.keywords}
        if any(v is UNKNOWN for v in [*args, *kwargs.values()]):
            return UNKNOWN
        return self.callable[_name_of(node)](*args, **kwargs)


Range = tuple[float, float, str]
"""``(low, high, what)``: a parameter's plausible values, and what the repair turn calls
them ("adult weights in kg")."""


def argument_problems(
    text: str,
    calls: list[Call],
    ranges: Mapping[str, Range],
    *,
    words: Mapping[str, Collection[str]] | None = None,
    given: Collection[str] = (),
) -> list[str]:
    """Sentences for the arguments of ``calls`` that the text does not support: a value
    written as a literal that the text does not state; a number outside the ``ranges``
    of its parameter; a text argument (``sex='female'``) the text does not name, in its
    own words or one of ``words[value]`` ("woman", "her"). The literals of a call of a
    function in ``given`` (a generator's seed) need not be stated, only in range."""
    stated, lowered = stated_numbers(text), f" {text.lower()} "
    problems = []
    for call in calls:
        if call.function in given:
            call = replace(call, literal=frozenset())
        for name, value in call.arguments.items():
            problem = _argument_problem(call, name, value, stated, lowered, ranges, words or {})
            if problem:
                problems.append(f"line {call.line}: {call.function}() {problem}")
    return problems


def _argument_problem(
    call: Call,
    name: str,
    value: Any,
    stated: set[float],
    lowered: str,
    ranges: Mapping[str, Range],
    words: Mapping[str, Collection[str]],
) -> str | None:
    if isinstance(value, str):
        said = [value.lower(), *words.get(value.lower(), ())]
        if name in call.literal and not any(_names(lowered, word) for word in said):
            return f"takes {name}={value!r}, which the problem does not say"
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if name in call.literal and not among(float(value), stated):
        return f"takes {name}={value!r}, which the problem does not state"
    if name in ranges:
        low, high, what = ranges[name]
        if not low <= value <= high:
            return f"takes {name}={value:g}, outside {low:g} to {high:g} ({what})"
    return None


def _names(lowered: str, word: str) -> bool:
    start = lowered.find(word)
    while start >= 0:
        before, after = lowered[start - 1], lowered[start + len(word) : start + len(word) + 1]
        if not before.isalnum() and not (after and after.isalnum()):
            return True
        start = lowered.find(word, start + 1)
    return False


@dataclass(frozen=True)
class Generated:
    """What one call of a generator builds: its ``value``, or, where the program does not
    decide it, ``None`` and the ``problem`` that says why."""

    call: Call
    value: str | None
    problem: str = ""


def generated(program: str | None, generators: Mapping[str, Callable]) -> list[Generated]:
    """Each call of a ``generators`` function in the program, by line, with what it
    builds where the program's literals decide its arguments and the call succeeds."""
    if not program:
        return []
    found = []
    for call in calls_in(program, generators, pure=generators):
        if any(v is UNKNOWN for v in call.arguments.values()):
            problem = (
                f"line {call.line}: {call.function}() must be called with numbers written "
                "in the program"
            )
            found.append(Generated(call, None, problem))
            continue
        try:
            value = str(generators[call.function](**call.arguments))
        except (ValueError, TypeError) as exc:
            found.append(Generated(call, None, f"line {call.line}: {call.source} fails: {exc}"))
            continue
        found.append(Generated(call, value))
    return found


def shows(text: str, value: str) -> bool:
    """Whether ``text`` shows ``value`` letter for letter, in any case, maybe spaced out."""
    return "".join(value.split()).upper() in "".join(text.split()).upper()


def unshown_problems(
    text: str, program: str | None, generators: Mapping[str, Callable]
) -> list[str]:
    """Sentences for what the program builds with a ``generators`` function (a seeded
    sequence) and the problem does not show, each with the value to paste; and for a
    generator called with arguments the program's literals do not decide."""
    return [
        built.problem
        if built.value is None
        else (
            f"the problem must show {built.value}, which {built.call.source} builds: write "
            "it there letter for letter, in place of what you wrote for it"
        )
        for built in generated(program, generators)
        if built.value is None or not shows(text, built.value)
    ]
