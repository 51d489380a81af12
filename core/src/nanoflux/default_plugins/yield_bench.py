"""``nanoflux bench yield``: what the default roster produces for a fixed budget of rounds.

A real run (real models, real tools, the real embedder) in a temporary directory,
offline. The novelty store is the in-memory one, so the bench neither reads nor adds to
the user's store; everything else is what ``nanoflux run`` does with its defaults.

Throughput and acceptance are reported apart: ``rounds_per_hour`` (how fast rounds are
played) and ``tokens_per_second`` per role (what each role got out of the machine, over
the run's wall time, and inside its own calls) beside ``accepted_per_hour``.

Options: ``rounds`` (default 12), ``seed`` (0), ``domain`` (math), ``keep`` (a directory
for the run, kept afterwards; default a temporary one), ``lanes`` (rounds in flight),
``drafts`` (the Attacker's drafts per turn, ``rounds.drafts``), ``backend`` (a backend
prefix to run the roster's ``llamacpp:`` models through instead, e.g.
``llamacpp-server``, which decodes the lanes' calls and the drafts together), and any
dotted configuration key prefixed with ``config.`` (``--option
config.rounds.harder=false``, ``--option config.rounds.seeds=math:gsm8k:train.jsonl``),
so each feature of a round can be measured on and off with the same budget and seed.

``lanes``, ``drafts`` and ``backend`` take comma-separated lists for a sweep: one run per
position, back to back with the same seed and rounds (a single value applies to every run), e.g.
``-o lanes=1,4 -o backend=llamacpp,llamacpp-server``. A sweep prints ``runs`` (each run's
report) and ``compare`` (their headline figures side by side).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ..config import DEFAULT_MODEL, RunConfig, load_config
from ..errors import UsageError
from ..hookspecs import hookimpl
from ..records import ROLES

#: options that take a comma-separated list, one run per position
SWEPT = ("lanes", "drafts", "backend")
COMPARED = (
    "lanes",
    "drafts",
    "backend",
    "rounds_per_hour",
    "accepted_per_hour",
    "accepted",
    "wall_s",
)


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
    if "lanes" in options:
        overrides["lanes"] = int(options["lanes"])
    if "drafts" in options:
        overrides["rounds.drafts"] = int(options["drafts"])
    for key, text in options.items():
        if key.startswith("config."):
            overrides[key.removeprefix("config.")] = _value(text)
    # the run's own override path, so a bench option means what a run option means
    config = load_config(None, overrides, check_out=False)
    # a fixed budget of rounds: patience, which an override cannot unset, must not stop it
    budget = config.budget.model_copy(update={"patience": None})
    return with_backend(config.model_copy(update={"budget": budget}), options.get("backend"))


def with_backend(config: RunConfig, prefix: str | None) -> RunConfig:
    """The roster's models (specs with the default model's prefix) through ``prefix``."""
    if not prefix:
        return config
    default = DEFAULT_MODEL.partition(":")[0]
    update = {}
    for role in ROLES:
        model = getattr(config, role)
        used, _, rest = model.spec.partition(":")
        if used == default:
            update[role] = model.model_copy(update={"spec": f"{prefix}:{rest}"})
    return config.model_copy(update=update)


def sweep(options: dict[str, str]) -> list[dict[str, str]]:
    """One options dict per run: the swept options' lists zipped, a single value shared."""
    lists = {k: [v.strip() for v in options[k].split(",")] for k in SWEPT if k in options}
    runs = max((len(values) for values in lists.values()), default=1)
    for key, values in lists.items():
        if len(values) not in (1, runs):
            shown = " ".join(f"-o {k}={options[k]}" for k in lists)
            raise UsageError(
                f"bench yield: {shown}: {key} lists {len(values)} values for {runs} runs",
                hint="give each swept option one value, or as many as the longest list",
            )
    return [
        {**options, **{k: values[i % len(values)] for k, values in lists.items()}}
        for i in range(runs)
    ]


def throughput(stats: dict[str, Any], rounds: int, wall: float) -> dict[str, Any]:
    """Rounds per hour, and each role's tokens per second: over the run's wall time (its
    share of what the machine produced) and inside its own calls (the speed a call saw;
    calls in flight together each see less of the machine)."""
    per_role = {}
    for role, usage in stats["usage"].items():
        seconds = usage["seconds"]
        per_role[role] = {
            "generated": round(usage["completion_tokens"] / wall, 2) if wall else 0.0,
            "prompt": round(usage["prompt_tokens"] / wall, 2) if wall else 0.0,
            "generated_in_calls": round(usage["completion_tokens"] / seconds, 2)
            if seconds
            else 0.0,
        }
    read = sum(b.get("prompt_tokens", 0) for b in stats.get("backends", {}).values())
    cached = sum(b.get("cached_prompt_tokens", 0) for b in stats.get("backends", {}).values())
    return {
        "rounds_per_hour": round(rounds / wall * 3600, 2) if wall else 0.0,
        "tokens_per_second": per_role,
        # prompt tokens a llama-server slot already held (prefix reuse); 0 in process
        "prompt_cached_share": round(cached / read, 4) if read else 0.0,
    }


def yield_run(options: dict[str, str]) -> dict[str, Any]:
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
        **throughput(stats, rounds, wall),
        "accepted_per_million_tokens": stats["accepted_per_million_tokens"],
        "acceptance_rate": round(result.accepted / rounds, 4),
        "acceptance_rate_per_attempt": stats["acceptance_rate"],
        "rejections": stats["rejections"],
        "attempts_by_turn": dict(turns),
        "accepted_by_turn": dict(accepted_turns),
        "seconds_per_round": {
            role: round(u["seconds"] / rounds, 2) for role, u in stats["usage"].items()
        },
        "tokens": stats["total_tokens"],
        "wall_s": round(wall, 1),
        "lanes": config.lanes,
        # drafts per turn as played (rounds.drafts, else what the Attacker's backend takes)
        "drafts": max(
            Counter(c["round"] for c in candidates if c.get("turn") == "attack").values(), default=0
        ),
        "backend": options.get("backend") or DEFAULT_MODEL.partition(":")[0],
        "models": {role: getattr(config, role).spec for role in ROLES},
        "options": {k: v for k, v in sorted(options.items())},
    }


def yield_benchmark(options: dict[str, str]) -> dict[str, Any]:
    runs = sweep(options)
    if len(runs) == 1:
        return yield_run(runs[0])
    reports = []
    for i, run_options in enumerate(runs):
        if run_options.get("keep"):  # each run of a sweep in a folder of its own
            run_options = {**run_options, "keep": str(Path(run_options["keep"]) / f"run-{i}")}
        reports.append(yield_run(run_options))
    return {
        "runs": reports,
        "compare": {key: [report[key] for report in reports] for key in COMPARED},
    }


@hookimpl
def register_benchmarks(register):
    register(
        "yield",
        yield_benchmark,
        description="accepted examples per hour and per token of the default roster, offline; "
        "rounds per hour and tokens per second per role; -o lanes=1,4 sweeps",
    )
