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

import json
from typing import Any

from pydantic import Field

from ..errors import ToolError
from ..records import Question, Record
from ..sandbox import SandboxLimits, program_value
from ..tools import JudgeTool
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


def python_tool(domain: str, *, importable: str = "") -> JudgeTool:
    """``DOMAIN.python``: run the question's program and report its value.

    ``importable`` tells the Attacker (through the tool's description) what a program
    may import besides the standard library, e.g. ``"nanoflux_genomics.sequences"``.
    """
    extra = f"; {importable} is importable" if importable else ""
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
        function=lambda args: deterministic_value(args.code),
        applies_to=_program_of,
    )


def _program_of(question: Question) -> dict[str, Any] | None:
    return {"code": question.program} if question.program else None
