"""The domain kit: what every domain pack would otherwise copy.

* :func:`python_tool` makes the pack's sandboxed ``DOMAIN.python`` judge tool; it screens
  a program's imports and calls before the sandbox starts and runs it twice, refusing a
  program whose value could depend on chance, a clock, a file or the network;
* :func:`check_program`, :func:`consult`, :func:`compared`, :func:`screened`,
  :func:`noted`, :func:`as_text` turn a tool's result into evidence about the reference;
* :func:`jsonl_benchmark` reads a JSONL benchmark (and a pack's seed problems with
  their programs, shown to the Attacker in its own form);
* :class:`CodeFirstScreen`: a code-first domain declares what its field knows and its
  ``screen()`` returns the free checks of a question against its program
  (:mod:`.stated`, :mod:`.calls`): :func:`stated_numbers_problems` (a number the
  program uses that the problem never states), :func:`answer_problems` (a value that does
  not come out even, or is negative where nothing can be),
  :func:`reused_numbers_problems` (the numbers of an example it was shown),
  :func:`argument_problems` (what a call of the pack's functions takes: stated, and in
  range) and :func:`unshown_problems` (what a generator builds is shown in the problem);
* :func:`complete_generated` writes into a problem what the program's generators build
  and the problem does not show (in place of the model's guess), for a domain's
  ``complete()``, before the screens, and :func:`placeholders` shows a seed without
  them, as the Attacker writes it;
* :func:`seed_faults` says which of a pack's seed problems are unfit to show;
* :func:`arithmetic_tool` makes a pack's ``DOMAIN.arithmetic`` judge tool: each
  calculation a worked solution writes must hold (:func:`arithmetic_slips`), since an
  example teaches its solution, and with ``shows_work`` it must write one at all
  (:func:`calculations_written`); :func:`calculated` is the value a calculator writes
  after a calculation (the Judge's blind solve calculates with it);
  :func:`rounds_to_reference` compares an answer with a reference at the reference's
  written precision.

With these, a domain pack writes only its field's logic: skills, prompts, how answers
compare, and the tools of its trade. ``examples/nanoflux-units`` in the repository
is such a pack, and CONTRIBUTING builds it step by step.
"""

from __future__ import annotations

from .arithmetic import (
    Slip,
    arithmetic_slips,
    arithmetic_tool,
    calculated,
    calculations_written,
    rounds_to_reference,
    within_rounding,
)
from .benchmarks import jsonl_benchmark
from .calls import (
    UNKNOWN,
    Call,
    Generated,
    argument_problems,
    calls_in,
    generated,
    public_functions,
    unshown_problems,
)
from .code_first import CodeFirstScreen
from .complete import complete_generated, placeholders
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
from .seeds import seed_faults
from .stated import (
    READER_CONSTANTS,
    answer_problems,
    numbers_of,
    reused_numbers_problems,
    seed_numbers,
    stated_numbers,
    stated_numbers_problems,
)

__all__ = [
    "READER_CONSTANTS",
    "UNKNOWN",
    "Call",
    "CodeFirstScreen",
    "Generated",
    "ProgramArgs",
    "SafetyFinding",
    "Slip",
    "answer_problems",
    "argument_problems",
    "arithmetic_slips",
    "arithmetic_tool",
    "as_text",
    "calculated",
    "calculations_written",
    "calls_in",
    "check_program",
    "compared",
    "complete_generated",
    "consult",
    "deterministic_value",
    "generated",
    "jsonl_benchmark",
    "noted",
    "numbers_of",
    "placeholders",
    "public_functions",
    "python_tool",
    "reused_numbers_problems",
    "rounds_to_reference",
    "screen_program",
    "screened",
    "seed_faults",
    "seed_numbers",
    "stated_numbers",
    "stated_numbers_problems",
    "unshown_problems",
    "within_rounding",
]
