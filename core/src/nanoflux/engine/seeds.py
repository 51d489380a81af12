"""Seeded attacks: real problems the Attacker builds harder variants of.

A seed is shown to the Attacker with its answer and the instruction to change every
quantity and add a step; the round rejects a question that copies its seed. Seeds come
from a benchmark's training split, never from the benchmark the run protects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..domains import load_benchmark
from ..errors import ConfigError
from ..plugins import PluginHost
from ..records import BenchmarkItem

_CLIP = 700  # characters of a seed problem shown: a small model's context is small


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


def seed_block(item: BenchmarkItem | None) -> str:
    """The ``$seed`` text of an attacker prompt: the seed problem, or nothing."""
    if item is None:
        return ""
    question = item.question if len(item.question) <= _CLIP else item.question[:_CLIP] + " ..."
    return (
        "Build your problem on this solved example: keep its idea, but change every name "
        "and number and add at least one more step. Do not copy it.\n"
        f"Example: {question}\n"
        f"Example's answer: {item.answer}\n"
    )
