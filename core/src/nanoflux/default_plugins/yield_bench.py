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
from collections import Counter
from pathlib import Path
from typing import Any

from ..config import RunConfig, load_config
from ..hookspecs import hookimpl


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def yield_config(options: dict[str, str], out: Path) -> RunConfig:
    rounds = int(options.get("rounds", 12))
    overrides: dict[str, Any] = {
        "domain": options.get("domain", "math"),
        "seed": int(options.get("seed", 0)),
        "target": 200,
        "out": str(out),
        "budget.max_rounds": rounds,
        "novelty.store": "memory",
    }
    for key, text in options.items():
        if key.startswith("config."):
            overrides[key.removeprefix("config.")] = _value(text)
    # the run's own override path, so a bench option means what a run option means
    config = load_config(None, overrides, check_out=False)
    # a fixed budget of rounds: patience, which an override cannot unset, must not stop it
    return config.model_copy(update={"budget": config.budget.model_copy(update={"patience": None})})


def yield_benchmark(options: dict[str, str]) -> dict[str, Any]:
    from ..engine import run
    from ..plugins import PluginHost

    host = PluginHost.load()
    with tempfile.TemporaryDirectory() as tmp:
        # keep=DIR keeps the run directory there, to open what the bench accepted
        config = yield_config(options, Path(options.get("keep") or Path(tmp) / "run"))
        started = time.perf_counter()
        result = run(config, host)
        wall = time.perf_counter() - started
        candidates = [
            json.loads(line)
            for line in (result.out_dir / "candidates.jsonl").read_text("utf-8").splitlines()
        ]
    stats = result.stats
    usage = stats["usage"]
    rounds = max(len({c["round"] for c in candidates}), 1)
    turns = Counter(c.get("turn", "attack") for c in candidates)
    accepted_turns = Counter(
        c.get("turn", "attack") for c in candidates if c["decision"] == "accepted"
    )
    return {
        "rounds": rounds,
        "attempts": result.attempts,
        "accepted": result.accepted,
        "accepted_per_hour": round(result.accepted / wall * 3600, 2) if wall else 0.0,
        "accepted_per_million_tokens": stats["accepted_per_million_tokens"],
        "acceptance_rate": round(result.accepted / rounds, 4),
        "acceptance_rate_per_attempt": stats["acceptance_rate"],
        "rejections": stats["rejections"],
        "attempts_by_turn": dict(turns),
        "accepted_by_turn": dict(accepted_turns),
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
