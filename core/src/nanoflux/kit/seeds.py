"""Whether a pack's seed problems are fit to be shown to the Attacker.

A seed is shown as a reply in the Attacker's own form (a problem and its program), and
the Attacker writes the same steps with new values: a seed whose program fails, gives
another answer than its own, or whose problem the pack's screen finds ill-posed teaches
the Attacker exactly what the round then rejects.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..answers import choice_index, options_for
from ..domains import CHOICE_LETTERS, Domain, ToolCaller
from ..records import BenchmarkItem, Question
from .evidence import as_text
from .stated import REUSED


def seed_faults(domain: Domain, items: Iterable[BenchmarkItem], call_tool: ToolCaller) -> list[str]:
    """What is wrong with each seed, one line each naming it (none: all are sound): no
    program; a program ``domain.program_tool`` refuses or that gives another answer than
    the seed's; a problem ``domain.screen`` finds ill-posed (but for using a seed's
    numbers, which a seed does)."""
    faults = []
    for item in items:
        if not item.program:
            faults.append(f"{item.id}: no program")
            continue
        if domain.program_tool is not None:
            result = call_tool(domain.program_tool, {"code": item.program}).result
            if not result.ok:
                faults.append(f"{item.id}: the program fails: {result.error}")
                continue
            if fault := _wrong_answer(domain, item, as_text(result.value)):
                faults.append(f"{item.id}: the program gives {result.value!r}, {fault}")
        question = Question(
            text=item.question,
            domain=domain.name,
            hops=1,
            skill=str(item.meta.get("skill") or domain.skills[0]),
            reference_answer=item.answer,
            solution_steps=[item.answer],
            program=item.program,
        )
        faults += [f"{item.id}: {p}" for p in domain.screen(question) if p != REUSED]
    return faults


def _wrong_answer(domain: Domain, item: BenchmarkItem, value: str) -> str | None:
    """Why a seed program's value is not the seed's answer; with options, the value must
    be exactly one option, the answer's (as a round keys a multiple-choice draft)."""
    if not item.choices:
        return None if domain.check_answer(item.answer, value) else f"not {item.answer}"
    keys = options_for(value, item.choices, domain.check_answer)
    if keys == [choice_index(item.answer, item.choices)]:
        return None
    named = " and ".join(CHOICE_LETTERS[i] for i in keys) or "none"
    return f"which is option {named}, not the answer {item.answer}"
