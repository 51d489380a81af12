"""Seeded attacks: real problems the Attacker builds harder variants of.

A seed is shown to the Attacker with its worked solution (where the benchmark has one:
a code-first Attacker writes its program step by step along it) and its answer, and the
instruction to change every quantity and add a step; the round rejects a question that
copies its seed. Seeds come from a benchmark's training split, never from the benchmark
the run protects.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ..domains import load_benchmark
from ..errors import ConfigError
from ..plugins import PluginHost
from ..records import BenchmarkItem

_CLIP = 700  # characters of a seed problem shown: a small model's context is small
_SOLUTION_CLIP = 500
# GSM8K's calculator annotations (``$<<216/54=4>>4``) repeat each step's arithmetic
_ANNOTATION = re.compile(r"<<[^<>]*>>")


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

    def pick(self, rng: random.Random) -> BenchmarkItem:
        return self.items[rng.randrange(len(self.items))]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def seed_block(item: BenchmarkItem | None) -> str:
    """The ``$seed`` text of an attacker prompt: the seed problem, or nothing."""
    if item is None:
        return ""
    solution = item.meta.get("solution")
    worked = ""
    if isinstance(solution, str) and solution.strip():
        steps = " ".join(_ANNOTATION.sub("", solution).split())
        worked = f"Example's solution: {_clip(steps, _SOLUTION_CLIP)}\n"
    return (
        "Build your problem on this solved example: keep its story and how its steps "
        "connect, change every name and number, and add one more step at the end that "
        "uses its result. Do not copy it.\n"
        f"Example: {_clip(item.question, _CLIP)}\n"
        f"{worked}"
        f"Example's answer: {item.answer}\n"
    )
