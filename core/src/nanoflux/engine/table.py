"""What every round of a run plays with: config, domain, prompts, seats, gate, seeds and
the attack form."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..config import RunConfig
from ..domains import Domain, PromptSet
from ..plugins import PluginHost
from .gate import SharedGate
from .judge import Judge
from .roles import Seat
from .seeds import SeedPool

if TYPE_CHECKING:
    from .forms import AttackForm

# Bounded per role so no reply runs away: on 2 CPU cores a wasted token costs ~0.15 s.
# The Judge's scores take ~45 tokens; its rationale, last, may be cut (and is salvaged).
# The Defender (and the Judge's blind solve) get the evaluation's own budget: at 384 the
# 0.5B Defender was cut off before its answer in 1 round of 6.
DEFAULT_MAX_TOKENS = {"attacker": 512, "defender": 512, "judge": 128}
DEFAULT_TEMPERATURE = {"attacker": 0.8, "defender": 0.2, "judge": 0.0}


@dataclass
class Table:
    """What every round of a run plays with. ``form`` is how the Attacker writes a
    question and what checks it in which order (:mod:`.forms`)."""

    config: RunConfig
    host: PluginHost
    domain: Domain
    prompts: PromptSet
    seats: dict[str, Seat]
    gate: SharedGate | None
    form: AttackForm
    seeds: SeedPool | None = None

    def pairing(self, index: int) -> tuple[str, str]:
        """Which configured model attacks and which defends in round ``index``."""
        if self.config.alternate and index % 2 == 1:
            return "defender", "attacker"
        return "attacker", "defender"

    def request_options(self, role: str) -> tuple[int, float]:
        options = getattr(self.config, role).options
        return (
            int(options.get("max_tokens", DEFAULT_MAX_TOKENS[role])),
            float(options.get("temperature", DEFAULT_TEMPERATURE[role])),
        )

    @cached_property
    def judge(self) -> Judge:
        max_tokens, temperature = self.request_options("judge")
        return Judge(
            self.seats["judge"],
            self.domain,
            self.host,
            template=self.prompts.judge,
            samples=self.config.judging.samples,
            flag_inconsistent=self.config.judging.flag_inconsistent,
            tools=self.config.judging.tools,
            max_tokens=max_tokens,
            temperature=temperature,
        )
