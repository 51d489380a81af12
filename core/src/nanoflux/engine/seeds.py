"""Seeded attacks: real problems the Attacker builds variants of.

A seed is shown to the Attacker with its worked solution (where the benchmark has one)
and its answer, and the instruction to change every quantity and add a step; code-first,
as a problem and its program, to rewrite with new names and numbers (see
:func:`seed_block`). The round rejects a question that copies its seed. Seeds come
from a benchmark's training split, never from the benchmark the run protects.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..domains import choices_text, load_benchmark
from ..errors import ConfigError
from ..plugins import PluginHost
from ..records import BenchmarkItem
from .programs import ProgramDraft

#: what a code-first seed with options adds to its brief (``engine.programs.keyed_choice``
#: keys the option that is the program's value)
CHOICES_RULE = (
    "End the problem with 4 options, one a line (A. to D.): exactly one of them is the "
    "value solution() returns, written the same way, and the others are what a slip "
    "would give. "
)
_CLIP = 700  # characters of a seed problem shown: a small model's context is small
_SOLUTION_CLIP = 500


@dataclass
class SeedPool:
    spec: str
    items: list[BenchmarkItem]

    @classmethod
    def load(cls, host: PluginHost, spec: str, domain: str) -> SeedPool:
        items = load_benchmark(host, spec)
        if not items:
            raise ConfigError(f"rounds.seeds: {spec} holds no problems")
        if not spec.startswith(f"{domain}:"):
            raise ConfigError(
                f"rounds.seeds: {spec} is not a {domain} benchmark",
                hint=f"name one as {domain}:FORMAT:PATH",
            )
        return cls(spec, items)

    def covering(self, skills: Sequence[str]) -> list[str]:
        """The ``skills`` some seed is of (its loader keeps ``skill`` in ``meta``), or all
        of them where no seed names one of them (GSM8K's do not)."""
        held = {item.meta.get("skill") for item in self.items}
        return [skill for skill in skills if skill in held] or list(skills)

    def pick(self, rng: random.Random, skill: str | None = None) -> BenchmarkItem:
        """A seed of ``skill`` where there is one, else any. Drawn apart from the round's
        target skill, a 1.5B Attacker told to test cardiovascular skills rewrote the BMI
        seed it was shown, and the example was filed under cardiovascular."""
        pool = [item for item in self.items if item.meta.get("skill") == skill] or self.items
        return pool[rng.randrange(len(pool))]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def seed_block(item: BenchmarkItem | None, *, code_first: bool = False) -> str:
    """The ``$seed`` text of an attacker prompt: the seed problem, or nothing.

    Code-first, a seed whose loader wrote its program (``item.program``) is shown as
    a reply in the Attacker's own form, and the Attacker writes the same steps with new
    names and numbers: told in words to build on a seed, the 1.5B Attacker ignored it
    and wrote one-step problems; told to add a step to a seed shown this way, it kept
    the steps but its programs misread its own problems (12 of 19 attempts of a ``bench
    yield`` run failed the blind solve, 1 accepted, against 2 and then 3 for the same
    seeds told in words and shown this way without the extra step)."""
    if item is None:
        return ""
    program = item.program if code_first else None
    if program and program.strip():
        text = _clip(item.question, _CLIP)
        if item.choices:
            text += "\n" + choices_text(item.choices)
        shown = ProgramDraft(text=text, program=program).as_reply()
        return (
            f"Here is an example of a problem and its program:\n{shown}\n"
            "Write a new problem with the same steps: change every name and every number "
            "(the program's lines change with them), keep how the steps connect and the "
            "constants of any formula or unit it uses. "
            f"{CHOICES_RULE if item.choices else ''}Do not copy it.\n"
        )
    worked = ""
    if item.solution and item.solution.strip():  # as the loader wrote it (GSM8K: unannotated)
        steps = " ".join(item.solution.split())
        worked = f"Example's solution: {_clip(steps, _SOLUTION_CLIP)}\n"
    return (
        "Build your problem on this solved example: keep its story and how its steps "
        "connect, change every name and number, and add one more step at the end that "
        "uses its result. Do not copy it.\n"
        f"Example: {_clip(item.question, _CLIP)}\n"
        f"{worked}"
        f"Example's answer: {item.answer}\n"
    )
