"""``nanoflux bench engine``: how much wall time the engine adds around model calls.

Scripted models with a fixed latency play every role; the ratio is the run's wall
time over the time spent inside backend calls (divided by the lanes, which overlap).
A ratio of 1.0 means the engine costs nothing beyond waiting for models.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..domains import Domain, PromptSet, Verification
from ..hookspecs import hookimpl
from .scripted import defender_reply, judge_reply, solving_blind

_WORDS = (
    "amber basil cedar delta ember fjord grove harbor iris juniper kelp lotus maple "
    "nectar orchid pepper quartz raven sage tulip umber violet willow yarrow zinnia"
).split()


class _BenchDomain(Domain):
    """The cheapest possible domain, so the measurement is of the engine alone."""

    name = "bench"
    skills = ("alpha", "beta", "gamma")

    def prompts(self) -> PromptSet:
        return PromptSet(
            attacker="Ask about $target_skill.", defender="$question", judge="$question"
        )

    def check_answer(self, reference, candidate, *, choices=None) -> bool:
        return reference.strip() == candidate.strip()

    def verify(self, question, call_tool) -> Verification:
        return Verification()


class _BenchPlugin:
    @staticmethod
    @hookimpl
    def register_domains(register):
        register(_BenchDomain())


def _responder(request):
    properties = (request.json_schema or {}).get("properties", {})
    index = (request.seed or 0) // 10
    if "text" in properties:
        digits = [(index // len(_WORDS) ** k) % len(_WORDS) for k in range(3)]
        words = " ".join(_WORDS[d] for d in digits)
        return {
            "text": f"Question {index}: {words}?",
            "skill": "alpha",
            "hops": 3,
            "solution_steps": ["one", "two", "three"],
            "reference_answer": str(index),
            "explanation": "",
        }
    if request.json_schema is None:  # the Defender, always wrong; the Judge solving, right
        return defender_reply(str(index if solving_blind(request) else index + 1), "guess")
    return judge_reply()


def measure(lanes: int, rounds: int, latency: float) -> dict:
    from ..config import validate_config
    from ..engine import run  # imported before the clock starts
    from ..plugins import PluginHost

    host = PluginHost.load(allow=[], extra=[("bench-domain", _BenchPlugin)])
    module = f"{__name__}:_responder"
    with tempfile.TemporaryDirectory() as tmp:
        model = {"spec": f"scripted:{module}", "options": {"latency": latency}}
        config = validate_config(
            {
                "domain": "bench",
                "attacker": model,
                "defender": model,
                "judge": model,
                "target": rounds,
                "lanes": lanes,
                "out": str(Path(tmp) / "run"),
                "budget": {"max_rounds": rounds, "patience": None},
                # The gate runs on every round, as in a real run; only exact repeats are
                # dropped. The bench domain has no tools, so the judge's word verifies.
                "novelty": {"embedder": "hashing", "store": "memory", "duplicate_threshold": 0.999},
                "acceptance": {"require_tool_verification": False},
            }
        )
        started = time.perf_counter()
        result = run(config, host)
        wall = time.perf_counter() - started
    inside = sum(role["seconds"] for role in result.stats["usage"].values())
    return {
        "lanes": lanes,
        "rounds": result.attempts,
        "wall_s": round(wall, 3),
        "backend_s": round(inside, 3),
        "overhead_ratio": round(wall / (inside / lanes), 4),
    }


def engine_benchmark(options: dict) -> dict:
    latency = float(options.get("latency", 0.05))
    one = measure(1, int(options.get("rounds", 80)), latency)
    many = measure(8, int(options.get("rounds_8", 400)), latency)
    return {
        "overhead_ratio": max(one["overhead_ratio"], many["overhead_ratio"]),
        "overhead_ratio_1_lane": one["overhead_ratio"],
        "overhead_ratio_8_lanes": many["overhead_ratio"],
        "latency_s": latency,
        "runs": [one, many],
    }


@hookimpl
def register_benchmarks(register):
    register("engine", engine_benchmark, description="engine overhead around model calls")
