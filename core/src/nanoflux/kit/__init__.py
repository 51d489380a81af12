"""The domain kit: what every domain pack would otherwise copy.

* :func:`python_tool` makes the pack's sandboxed ``DOMAIN.python`` judge tool; it screens
  a program's imports and calls before the sandbox starts and runs it twice, refusing a
  program whose value could depend on chance, a clock, a file or the network;
* :func:`check_program`, :func:`consult`, :func:`compared`, :func:`screened`,
  :func:`noted`, :func:`as_text` turn a tool's result into evidence about the reference;
* :func:`jsonl_benchmark` reads a JSONL benchmark.

With these, a domain pack writes only its field's logic: skills, prompts, how answers
compare, and the tools of its trade. ``examples/nanoflux-units`` in the repository
is such a pack, and CONTRIBUTING builds it step by step.
"""

from __future__ import annotations

from .benchmarks import jsonl_benchmark
from .evidence import (
    SafetyFinding,
    as_text,
    check_program,
    compared,
    consult,
    noted,
    screened,
)
from .programs import ProgramArgs, deterministic_value, python_tool
from .screen import screen_program

__all__ = [
    "ProgramArgs",
    "SafetyFinding",
    "as_text",
    "check_program",
    "compared",
    "consult",
    "deterministic_value",
    "jsonl_benchmark",
    "noted",
    "python_tool",
    "screen_program",
    "screened",
]
