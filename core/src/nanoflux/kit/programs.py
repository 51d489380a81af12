"""The sandboxed ``python`` judge tool every program-writing domain registers.

A program verifies a reference answer only if its value is a function of the program
alone. So before the sandbox starts, :func:`~nanoflux.kit.screen.screen_program` refuses
imports of randomness, clocks, files and the network, and every way to reach a name the
code does not show; then the program runs twice, in two fresh sandboxes whose string
hashes are salted differently (and whose addresses ASLR places differently), and a
program whose two values differ is refused as non-deterministic. Either refusal is a
:class:`ToolError`: the tool's result is ``ok=false`` with the cause, and a domain's
verification records the reference as unverified, never as confirmed.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from typing import Any

from pydantic import Field

from ..errors import ToolError
from ..records import Question, Record
from ..sandbox import SandboxLimits, program_value
from ..tools import JudgeTool
from .calls import public_functions
from .screen import screen_program

RUNS = 2
_SHOWN = 120  # characters of a differing value quoted in the error


def deterministic_value(code: str, *, runs: int = RUNS, limits: SandboxLimits | None = None):
    """What ``code`` computes: ``solution()``'s value, else its stripped stdout.

    Raises :class:`ToolError` when the screen refuses it ("refused: ..."), when a run
    fails, or when two runs disagree ("non-deterministic: ...").
    """
    problems = screen_program(code)
    if problems:
        raise ToolError(f"refused before running: {'; '.join(problems[:5])}")
    # PYTHONHASHSEED 0, 1, ...: a value that follows string hashes (a set's order) differs
    first = program_value(code, limits=limits, hash_seed=0)
    for run in range(1, runs):
        again = program_value(code, limits=limits, hash_seed=run)
        if _canonical(again) != _canonical(first):
            raise ToolError(
                f"non-deterministic: one run gave {_shown(first)}, another {_shown(again)}"
            )
    return first


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


class ProgramArgs(Record):
    code: str = Field(
        min_length=1,
        description="A Python program. Define solution() returning the answer, or print it.",
    )


def python_tool(domain: str, *, importable: str = "", provides: str | None = None) -> JudgeTool:
    """``DOMAIN.python``: run the question's program and report its value.

    ``importable`` tells the Attacker (through the tool's description) what a program
    may import besides the standard library, e.g. ``"nanoflux_genomics.sequences"``.
    ``provides`` names a module whose public functions a program may call without
    importing them (``nanoflux_medicine.calculators``): the tool imports them before the
    program's first line, and the program's own imports and names come after it. A 1.5B
    Attacker left out its import line in 2 of 3 genomics attempts (``bench yield``),
    each a program that failed for a ``NameError``.
    """
    extra = f"; {importable} is importable" if importable else ""
    preamble = None
    if provides:
        extra += f"; the functions of {provides} are there without an import"
        names = ", ".join(sorted(public_functions(importlib.import_module(provides))))
        preamble = f"from {provides} import {names}"
    return JudgeTool(
        id=f"{domain}.python",
        domain=domain,
        description=(
            "Run a Python program in the sandbox; the value is what solution() returns, else "
            f"stdout{extra}. Refused if it imports randomness, a clock, files or the network, "
            "names open, eval, exec, getattr, globals, vars, hash or id, or a dunder "
            "attribute, or if two runs give different values."
        ),
        args_model=ProgramArgs,
        function=lambda args: _value_with(preamble, args.code),
        applies_to=_program_of,
    )


_LINE = re.compile(r"(program\.py,? line )(\d+)")


def _value_with(preamble: str | None, code: str) -> Any:
    """The program's value, ``preamble`` (one line) run before it; the screen reads the
    program as written, and an error names the program's own lines."""
    if not preamble:
        return deterministic_value(code)
    problems = screen_program(code) or _shadowed(code, preamble)
    if problems:
        raise ToolError(f"refused before running: {'; '.join(problems[:5])}")
    try:
        return deterministic_value(f"{preamble}\n{code}")
    except ToolError as exc:
        shifted = _LINE.sub(lambda m: f"{m[1]}{max(1, int(m[2]) - 1)}", exc.message)
        raise type(exc)(shifted, hint=exc.hint) from None


def _shadowed(code: str, preamble: str) -> list[str]:
    """A provided function whose name the program gives to a result inside a function
    (``wallace_tm = wallace_tm(seq)``): the call then fails before it runs. Said in these
    words, not as Python's UnboundLocalError, which the 1.5B Attacker repaired into the
    same mistake in 2 of 2 repairs."""
    provided = {name.strip() for name in preamble.split(" import ", 1)[1].split(",")}
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []  # the run says what is wrong with it
    problems = []
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        nodes = list(ast.walk(function))
        called = {
            n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        problems += [
            f"line {node.lineno}: the program names a result {node.id}, the name of the "
            f"function {node.id}() it calls: give the result another name"
            for node in nodes
            if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Store)
            and node.id in provided & called
        ]
    return problems


def _program_of(question: Question) -> dict[str, Any] | None:
    return {"code": question.program} if question.program else None
