"""``nanoflux bench yield``: what the default roster produces for a fixed budget of rounds.

A real run (real models, real tools, the real embedder) in a temporary directory,
offline. The novelty store is the in-memory one, so the bench neither reads nor adds to
the user's store; everything else is what ``nanoflux run`` does with its defaults.

Options: ``rounds`` (default 12), ``seed`` (0), ``domain`` (math), ``keep`` (a directory
for the run, kept afterwards; default a temporary one), and any dotted
configuration key prefixed with ``config.`` (``--option config.rounds.harder=false``,
``--option config.rounds.seeds=math:gsm8k:train.jsonl``), so each feature of a round can
be measured on and off with the same budget and seed.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from ..hookspecs import hookimpl


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _set(data: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[leaf] = value


def yield_config(options: dict[str, str], out: Path) -> dict[str, Any]:
    rounds = int(options.get("rounds", 12))
    data: dict[str, Any] = {
        "domain": options.get("domain", "math"),
        "seed": int(options.get("seed", 0)),
        "target": 200,
        "out": str(out),
        "budget": {"max_rounds": rounds, "patience": None},
        "novelty": {"store": "memory"},
    }
    for key, text in options.items():
        if key.startswith("config."):
            _set(data, key.removeprefix("config."), _value(text))
    return data


def yield_benchmark(options: dict[str, str]) -> dict[str, Any]:
    from ..config import validate_config
    from ..engine import run
    from ..plugins import PluginHost

    host = PluginHost.load()
    with tempfile.TemporaryDirectory() as tmp:
        # keep=DIR keeps the run directory there, to open what the bench accepted
        data = yield_config(options, Path(options.get("keep") or Path(tmp) / "run"))
        config = validate_config(data, "bench yield options")
        started = time.perf_counter()
        result = run(config, host)
        wall = time.perf_counter() - started
        candidates = [
            json.loads(line)
            for line in (result.out_dir / "candidates.jsonl").read_text("utf-8").splitlines()
        ]
    stats = result.stats
    usage = stats["usage"]
    rounds = max(stats.get("rounds_played", 0), len({c["round"] for c in candidates}), 1)
    turns: dict[str, int] = {}
    for candidate in candidates:
        turns[candidate.get("turn", "attack")] = turns.get(candidate.get("turn", "attack"), 0) + 1
    accepted_turns: dict[str, int] = {}
    for candidate in candidates:
        if candidate["decision"] == "accepted":
            turn = candidate.get("turn", "attack")
            accepted_turns[turn] = accepted_turns.get(turn, 0) + 1
    return {
        "rounds": rounds,
        "attempts": result.attempts,
        "accepted": result.accepted,
        "accepted_per_hour": round(result.accepted / wall * 3600, 2) if wall else 0.0,
        "accepted_per_million_tokens": stats["accepted_per_million_tokens"],
        "acceptance_rate": round(result.accepted / rounds, 4),
        "acceptance_rate_per_attempt": stats["acceptance_rate"],
        "rejections": stats["rejections"],
        "attempts_by_turn": turns,
        "accepted_by_turn": accepted_turns,
        "seconds_per_round": {role: round(u["seconds"] / rounds, 2) for role, u in usage.items()},
        "tokens": stats["total_tokens"],
        "wall_s": round(wall, 1),
        "models": {role: getattr(config, role).spec for role in ("attacker", "defender", "judge")},
        "options": {k: v for k, v in sorted(options.items())},
    }


@hookimpl
def register_benchmarks(register):
    register(
        "yield",
        yield_benchmark,
        description="accepted examples per hour and per token of the default roster, offline",
    )
