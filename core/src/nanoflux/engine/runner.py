"""The run: rounds in lanes, committed in order, until the target or a budget.

Rounds run concurrently (``lanes``), but each round's outcome is committed strictly
in round order, so what is accepted does not depend on which lane finished first:
the novelty check is repeated at commit time against everything accepted before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import RunConfig, dump_config
from ..domains import choices_text
from ..errors import ConfigError, NanofluxError
from ..novelty import NoveltyDecision, NoveltyGate, NoveltyThresholds
from ..plugins import PluginHost, default_host
from ..records import Answer, Question, Usage, Verdict
from ..secrets import scrub
from . import run_store as files
from .example import build_example, example_id
from .judge import Judge
from .policy import decide
from .profile import DefenderProfile, describe_avoid, describe_wrong
from .roles import RoleFailure, Seat, ask_for
from .schemas import ANSWER_SCHEMA, question_schema

ROLES = ("attacker", "defender", "judge")
DEFAULT_MAX_TOKENS = {"attacker": 512, "defender": 320, "judge": 256}
DEFAULT_TEMPERATURE = {"attacker": 0.8, "defender": 0.2, "judge": 0.0}

log = logging.getLogger("nanoflux.run")


@dataclass
class RunResult:
    out_dir: Path
    accepted: int
    attempts: int
    stopped_because: str
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one round produced, before the commit decides."""

    index: int
    attacker: str
    defender: str
    usage: dict[str, Usage]
    started: float
    question: Question | None = None
    answer: Answer | None = None
    verdict: Verdict | None = None
    vector: list[float] | None = None
    novelty: NoveltyDecision | None = None
    early_reason: str | None = None
    failure: RoleFailure | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_out_dir(domain: str) -> Path:
    return Path("runs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{domain}"


class Run:
    """One run directory being filled. Use :func:`run` unless you need the pieces."""

    def __init__(self, config: RunConfig, host: PluginHost, out_dir: Path, *, resume: bool):
        self.config = config
        self.host = host
        self.store = files.RunStore(out_dir)
        self.resume = resume
        self.domain = host.domain(config.domain)
        self.prompts = self.domain.prompts().with_overrides(config.prompts)
        self.run_id = out_dir.resolve().name
        self.seats: dict[str, Seat] = {}
        self.role_seats: dict[str, Seat] = {}
        self.gate: NoveltyGate | None = None
        # state rebuilt from candidates.jsonl on resume
        self.attempts = 0
        self.accepted = 0
        self.accepted_ids: set[str] = set()
        self.reasons: Counter = Counter()
        self.usage = {role: Usage() for role in ROLES}
        self.profiles: dict[str, DefenderProfile] = {}
        self.recent_accepted: deque = deque(maxlen=max(config.profile_size, 1))
        self.accepted_per_round: list[list[int]] = []
        self.previous_seconds = 0.0
        self.started = time.monotonic()
        self._stats_written = 0.0
        self._gate_lock = threading.Lock()
        self.stopped_because = "running"

    # -- set-up ------------------------------------------------------------------

    def _seat(self, role: str) -> Seat:
        model = getattr(self.config, role)
        key = json.dumps([model.spec, model.options], sort_keys=True, default=str)
        if key not in self.seats:
            backend = self.host.open_backend(model.spec, model.options)
            self.seats[key] = Seat(backend, asyncio.Semaphore(max(1, backend.max_concurrency)))
        return self.seats[key]

    def open(self) -> None:
        if self.resume:
            self.store.require_existing()
        else:
            self.store.create()
            files.write_atomic(self.store.root / files.CONFIG, dump_config(self.config))
        handler = logging.FileHandler(self.store.root / files.LOG, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        self._log_handler = handler
        for role in ROLES:
            self.role_seats[role] = self._seat(role)
        settings = self.config.novelty
        if settings.enabled:
            embedder = self.host.open_embedder(settings.embedder, settings.embedder_options)
            store = self.host.open_store(settings.store, settings.store_options)
            self.gate = NoveltyGate(
                embedder,
                store,
                self.domain.name,
                NoveltyThresholds(
                    duplicate=settings.duplicate_threshold,
                    contaminated=settings.contamination_threshold,
                ),
            )
        if self.resume:
            report = self.store.recover()
            log.info("resume: %s", report)
        self._rebuild_state()
        self._reconcile_gate()
        self._write_manifest(start=not self.resume)

    def _rebuild_state(self) -> None:
        for candidate in self.store.candidates():
            self.attempts += 1
            self.reasons[candidate["reason"]] += 1
            for role, used in candidate.get("usage", {}).items():
                self.usage[role].add(Usage(**used))
            question, answer, verdict = (
                candidate.get("question"),
                candidate.get("answer"),
                candidate.get("verdict"),
            )
            if question and answer and verdict:
                self._profile(candidate["defender"]).observe(
                    question["skill"],
                    question["text"],
                    answer["final_answer"],
                    verdict["defender_correct"],
                )
            if candidate["decision"] == "accepted":
                self.accepted += 1
                self.accepted_ids.add(candidate["example_id"])
                self.recent_accepted.append(question["text"])
                self.accepted_per_round.append([candidate["round"], self.accepted])
        self.previous_seconds = float(self.store.read_json(files.STATS).get("seconds", 0.0))

    def _reconcile_gate(self) -> None:
        """Make the novelty store agree with dataset.jsonl for this run's items."""
        if self.gate is None:
            return
        examples = {e["id"]: e for e in self.store.examples()}
        stored = self.gate.store.ids(self.gate.collection, run_id=self.run_id)
        stale = stored - set(examples)
        if stale:
            self.gate.store.delete(self.gate.collection, sorted(stale))
        missing = [(i, examples[i]["messages"][0]["content"]) for i in examples if i not in stored]
        if missing:
            self.gate.remember_many(missing, kind="accepted", run_id=self.run_id)
        if stale or missing:
            log.info("novelty store reconciled: %d removed, %d added", len(stale), len(missing))

    def _gate_check(self, vector: list[float]) -> NoveltyDecision:
        # Stores need not be thread-safe: lane threads check while the commit adds.
        with self._gate_lock:
            return self.gate.check_vector(vector)

    def _profile(self, defender: str) -> DefenderProfile:
        return self.profiles.setdefault(defender, DefenderProfile(size=self.config.profile_size))

    def _write_manifest(self, *, start: bool = False, end: bool = False) -> None:
        import nanoflux

        manifest = self.store.read_json(files.MANIFEST)
        if start or not manifest:
            manifest = {
                "run_id": self.run_id,
                "nanoflux_version": nanoflux.__version__,
                "domain": self.domain.name,
                "seed": self.config.seed,
                "started_at": _now(),
                "resumed_at": [],
            }
        elif not end:
            manifest["resumed_at"].append(_now())
        manifest["plugins"] = [
            {"name": p.name, "distribution": p.distribution, "version": p.version}
            for p in self.host.plugins.values()
        ]
        manifest["models"] = {
            role: seat.backend.describe() for role, seat in self.role_seats.items()
        }
        if self.gate is not None:
            manifest["novelty"] = {
                "embedder": self.gate.embedder.describe(),
                "store": self.gate.store.describe(),
                "collection": self.gate.collection,
            }
        if end:
            manifest["ended_at"] = _now()
            manifest["stopped_because"] = self.stopped_because
        self.store.write_json(files.MANIFEST, scrub(manifest))

    # -- a round -----------------------------------------------------------------

    def _request_options(self, role: str) -> tuple[int, float]:
        options = getattr(self.config, role).options
        return (
            int(options.get("max_tokens", DEFAULT_MAX_TOKENS[role])),
            float(options.get("temperature", DEFAULT_TEMPERATURE[role])),
        )

    def _pairing(self, index: int) -> tuple[str, str]:
        if self.config.alternate and index % 2 == 1:
            return "defender", "attacker"
        return "attacker", "defender"

    async def play(self, index: int) -> Outcome:
        attacking, defending = self._pairing(index)
        attacker_spec = getattr(self.config, attacking).spec
        defender_spec = getattr(self.config, defending).spec
        outcome = Outcome(
            index=index,
            attacker=attacker_spec,
            defender=defender_spec,
            usage={role: Usage() for role in ROLES},
            started=time.monotonic(),
        )
        seed = self.config.seed * 1_000_003 + index * 10
        profile = self._profile(defender_spec)
        skills = list(self.domain.skills)
        max_tokens, temperature = self._request_options(attacking)
        prompt = self.prompts.render(
            "attacker",
            domain=self.domain.name,
            skills=", ".join(skills),
            target_skill=profile.pick_target(skills, index),
            weak_skills=", ".join(profile.weak_skills()) or "none yet",
            recent_wrong=describe_wrong(profile),
            avoid=describe_avoid(self.recent_accepted),
            hops_min=self.config.acceptance.hops_min,
            hops_max=self.config.acceptance.hops_max,
        )
        try:
            question = await ask_for(
                self.role_seats[attacking],
                Question,
                prompt,
                role="attacker",
                usage=outcome.usage["attacker"],
                schema=question_schema(self.domain.supports_programs),
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
                fill={"domain": self.domain.name},
            )
            outcome.question = question
            if _normalize(question.text) in _normalize(self.prompts.attacker):
                # Small models copy the prompt's worked example; it is not a new question.
                outcome.early_reason = "copied_prompt"
                return outcome
            if self.gate is not None:
                # Before the Defender spends a token: is this question new?
                outcome.vector = await asyncio.to_thread(self.gate.embed, question.text)
                outcome.novelty = await asyncio.to_thread(self._gate_check, outcome.vector)
                if outcome.novelty.verdict != "novel":
                    return outcome
            max_tokens, temperature = self._request_options(defending)
            defender_prompt = self.prompts.render(
                "defender", question=question.text, choices=choices_text(question.choices)
            )
            outcome.answer = await ask_for(
                self.role_seats[defending],
                Answer,
                defender_prompt,
                role="defender",
                usage=outcome.usage["defender"],
                schema=ANSWER_SCHEMA,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed + 1,
            )
            max_tokens, temperature = self._request_options("judge")
            judge = Judge(
                self.role_seats["judge"],
                self.domain,
                self.host,
                template=self.prompts.judge,
                samples=self.config.judging.samples,
                flag_inconsistent=self.config.judging.flag_inconsistent,
                max_tokens=max_tokens,
                temperature=temperature,
            )
            outcome.verdict = await judge.judge(
                question, outcome.answer, usage=outcome.usage["judge"], seed=seed + 2
            )
        except RoleFailure as failure:
            outcome.failure = failure
        except NanofluxError as exc:
            outcome.failure = RoleFailure("error", exc.one_line())
        return outcome

    # -- committing --------------------------------------------------------------

    async def commit(self, outcome: Outcome) -> str:
        """Decide and write one round's record. Runs in round order, one at a time."""
        question, answer, verdict = outcome.question, outcome.answer, outcome.verdict
        example = None
        error = None
        novelty = outcome.novelty
        if outcome.failure is not None:
            decision, reason, error = "failed", outcome.failure.reason, outcome.failure.detail
        elif verdict is None:
            reason = outcome.early_reason or (novelty.verdict if novelty else "error")
            decision = "rejected"
        else:
            if self.gate is not None and outcome.vector is not None:
                novelty = self._gate_check(outcome.vector)  # rounds committed since
            reason = decide(self.config.acceptance, question, verdict, novelty)
            if reason == "accepted":
                if example_id(question.domain, question.text) in self.accepted_ids:
                    reason = "duplicate"
                elif self.accepted >= self.config.target:
                    reason = "target_reached"
            decision = "accepted" if reason == "accepted" else "rejected"
            if decision == "accepted":
                example = build_example(
                    question,
                    answer,
                    verdict,
                    similarity=novelty.similarity if novelty else 0.0,
                    attacker=outcome.attacker,
                    defender=outcome.defender,
                    round_index=outcome.index,
                )
        record = {
            "index": self.attempts,
            "round": outcome.index,
            "attacker": outcome.attacker,
            "defender": outcome.defender,
            "question": question.model_dump(mode="json") if question else None,
            "answer": answer.model_dump(mode="json") if answer else None,
            "verdict": verdict.model_dump(mode="json") if verdict else None,
            "novelty": None
            if novelty is None
            else {
                "verdict": novelty.verdict,
                "similarity": round(novelty.similarity, 4),
                "nearest_id": novelty.nearest.id if novelty.nearest else None,
            },
            "decision": decision,
            "reason": reason,
            "example_id": example["id"] if example else None,
            "example": example,
            "usage": {role: u.model_dump() for role, u in outcome.usage.items()},
            "seconds": round(time.monotonic() - outcome.started, 4),
            "error": error,
        }
        if example is not None:
            # The fsync of an accepted record happens off the event loop, so lanes
            # waiting on their models are not held up; commits still go one by one.
            await asyncio.to_thread(self.store.append_candidate, record)
            self.store.append_example(example)
        else:
            self.store.append_candidate(record)
        if example is not None:
            if self.gate is not None:
                with self._gate_lock:
                    self.gate.remember(
                        example["id"], question.text, run_id=self.run_id, vector=outcome.vector
                    )
            self.accepted += 1
            self.accepted_ids.add(example["id"])
            self.recent_accepted.append(question.text)
            self.accepted_per_round.append([outcome.index, self.accepted])
        if question is not None and answer is not None and verdict is not None:
            self._profile(outcome.defender).observe(
                question.skill, question.text, answer.final_answer, verdict.defender_correct
            )
        self.attempts += 1
        self.reasons[reason] += 1
        for role, used in outcome.usage.items():
            self.usage[role].add(used)
        log.info(
            "round %d: %s (%s)%s", outcome.index, decision, reason, f": {error}" if error else ""
        )
        if time.monotonic() - self._stats_written > 1.0:
            # stats.json is derivable from candidates.jsonl; refresh it about once a second
            self.store.write_json(files.STATS, self.stats())
            self._stats_written = time.monotonic()
        return reason

    # -- budgets and stats ---------------------------------------------------------

    def seconds(self) -> float:
        return self.previous_seconds + (time.monotonic() - self.started)

    def total_tokens(self) -> int:
        return sum(u.prompt_tokens + u.completion_tokens for u in self.usage.values())

    def budget_exhausted(self, dispatched: int) -> str | None:
        budget = self.config.budget
        if self.accepted >= self.config.target:
            return "target"
        if budget.max_rounds is not None and dispatched >= budget.max_rounds:
            return "max_rounds"
        if budget.max_tokens is not None and self.total_tokens() >= budget.max_tokens:
            return "max_tokens"
        if budget.max_minutes is not None and self.seconds() >= budget.max_minutes * 60:
            return "max_minutes"
        if budget.patience is not None and self.rounds_since_accepted() >= budget.patience:
            return "patience"
        return None

    def rounds_since_accepted(self) -> int:
        last = self.accepted_per_round[-1][0] + 1 if self.accepted_per_round else 0
        return self.attempts - last

    def stats(self) -> dict[str, Any]:
        tokens = self.total_tokens()
        return {
            "attempts": self.attempts,
            "accepted": self.accepted,
            "target": self.config.target,
            "acceptance_rate": round(self.accepted / self.attempts, 4) if self.attempts else 0.0,
            "rounds": self.attempts,
            "rejections": {k: v for k, v in sorted(self.reasons.items()) if k != "accepted"},
            "usage": {role: u.model_dump() for role, u in self.usage.items()},
            "total_tokens": tokens,
            "accepted_per_million_tokens": round(self.accepted / tokens * 1e6, 3)
            if tokens
            else 0.0,
            "seconds": round(self.seconds(), 3),
            "tokens_per_second": round(tokens / self.seconds(), 2) if self.seconds() else 0.0,
            "accepted_per_round": self.accepted_per_round,
            "stopped_because": self.stopped_because,
            "backends": self._backend_stats(),
        }

    def _backend_stats(self) -> dict[str, Any]:
        """Retries and failures by cause, per model, from backends that keep such counters."""
        found = {}
        for seat in self.seats.values():
            stats = getattr(seat.backend, "stats", None)
            if stats is not None:
                stats = stats.model_dump() if hasattr(stats, "model_dump") else stats
                found[str(seat.backend.spec)] = json.loads(json.dumps(stats, default=str))
        return found

    # -- the loop ------------------------------------------------------------------

    async def play_all(self, progress) -> None:
        lanes = self.config.lanes
        in_flight: dict[int, asyncio.Task] = {}
        done: dict[int, Outcome] = {}
        next_index = commit_index = self.attempts  # rounds are numbered across resumes

        def refill() -> str | None:
            nonlocal next_index
            stop = self.budget_exhausted(next_index)
            while stop is None and len(in_flight) < lanes:
                in_flight[next_index] = asyncio.create_task(self.play(next_index))
                next_index += 1
                stop = self.budget_exhausted(next_index)
            return stop

        try:
            while True:
                stop = refill()
                if not in_flight:
                    self.stopped_because = stop or "done"
                    return
                finished, _ = await asyncio.wait(
                    in_flight.values(), return_when=asyncio.FIRST_COMPLETED
                )
                for index in [i for i, t in in_flight.items() if t in finished]:
                    done[index] = in_flight.pop(index).result()
                if lanes > 1:
                    # Keep the freed lanes busy while we commit. With one lane the next
                    # round waits, so its Attacker sees the profile this commit updates.
                    refill()
                while commit_index in done:
                    await self.commit(done.pop(commit_index))
                    commit_index += 1
                    progress(self)
                if self.accepted >= self.config.target:
                    # Work still in flight cannot be accepted any more.
                    for task in in_flight.values():
                        task.cancel()
                    await asyncio.gather(*in_flight.values(), return_exceptions=True)
                    in_flight.clear()
                    self.stopped_because = "target"
                    return
        finally:
            for task in in_flight.values():
                task.cancel()

    async def close(self) -> None:
        self._write_manifest(end=True)
        self.store.write_json(files.STATS, self.stats())
        for seat in self.seats.values():
            await seat.backend.aclose()
        if self.gate is not None:
            self.gate.store.close()
        log.removeHandler(self._log_handler)
        self._log_handler.close()


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


async def run_async(
    config: RunConfig,
    host: PluginHost | None = None,
    *,
    resume: bool = False,
    progress=None,
) -> RunResult:
    host = host or default_host()
    out_dir = Path(config.out) if config.out else default_out_dir(config.domain)
    if resume and config.out is None:
        raise ConfigError("resume needs the run directory")
    the_run = Run(config.model_copy(update={"out": out_dir}), host, out_dir, resume=resume)
    the_run.open()
    try:
        await the_run.play_all(progress or (lambda _run: None))
    except asyncio.CancelledError:
        the_run.stopped_because = "interrupted"
        raise
    finally:
        await the_run.close()
    return RunResult(
        out_dir=out_dir,
        accepted=the_run.accepted,
        attempts=the_run.attempts,
        stopped_because=the_run.stopped_because,
        stats=the_run.stats(),
    )


def run(
    config: RunConfig, host: PluginHost | None = None, *, resume: bool = False, progress=None
) -> RunResult:
    """Run (or, with ``resume``, continue) the adversarial loop, as ``nanoflux run`` does."""
    return asyncio.run(run_async(config, host, resume=resume, progress=progress))
