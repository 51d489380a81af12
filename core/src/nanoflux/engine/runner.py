"""The run: rounds in lanes, committed in order, until the target or a budget.

Rounds run concurrently (``lanes``), but each round's outcome is committed strictly
in round order, so what is accepted does not depend on which lane finished first:
the novelty check is repeated at commit time against everything accepted before it.
The round is :mod:`.round`, the commit and the state it folds are :mod:`.ledger`,
the files are :mod:`.run_store`; this module holds them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import RunConfig, dump_config
from ..errors import ConfigError, NanofluxError
from ..machine import source_revision, utc_now
from ..plugins import PluginHost
from ..records import CANDIDATE_SCHEMA, Record
from ..secrets import scrub
from ..storage import LogFile
from ..version import __version__
from .attempt import Outcome
from .forms import form_for
from .gate import SharedGate
from .ledger import ROLES, Ledger, RunState
from .roles import Seat
from .round import play
from .run_store import LOG, MANIFEST, STATS, RunStore
from .seeds import SeedPool
from .table import Table

log = logging.getLogger("nanoflux.run")


@dataclass
class RunResult:
    out_dir: Path
    accepted: int
    attempts: int
    stopped_because: str
    stats: dict[str, Any] = field(default_factory=dict)


class Progress(Record):
    """What a progress callback sees after each commit."""

    accepted: int
    attempts: int
    target: int
    acceptance_rate: float
    tokens_per_second: float
    seconds: float
    last_reason: str


def default_out_dir(domain: str) -> Path:
    return Path("runs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{domain}"


@contextlib.contextmanager
def run_log(path: Path, run_id: str) -> Iterator[logging.Logger]:
    """A logger of this run alone, writing run.log; nothing of it outlives the run.

    It is not registered with :mod:`logging` (so concurrent runs in one process do not
    share handlers), but it hands its records on to ``nanoflux.run`` like a child.
    """
    logger = logging.Logger(f"nanoflux.run[{run_id}]", logging.INFO)
    logger.parent = log
    handler = LogFile(path)  # not logging.FileHandler: it follows a link at run.log
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()


class Run:
    """One run directory being filled; ``async with Run(...) as run`` opens and closes it."""

    def __init__(self, config: RunConfig, host: PluginHost, out_dir: Path, *, resume: bool):
        self.config = config
        self.host = host
        self.store = RunStore(out_dir)
        self.resume = resume
        self.run_id = out_dir.resolve().name
        self.stopped_because = "running"
        self.seats: dict[str, Seat] = {}
        self.gate: SharedGate | None = None
        self.state = RunState(config.profile_size)
        self.previous_seconds = 0.0
        self.started = time.monotonic()
        self._stats_written = 0.0
        self._closing = contextlib.AsyncExitStack()
        self._opened = False

    # -- opening and closing -----------------------------------------------------------

    async def __aenter__(self) -> Run:
        try:
            await self._open(self._closing)
        except BaseException:
            await self._closing.aclose()  # a failed open leaves nothing held or attached
            raise
        self._opened = True
        return self

    async def __aexit__(self, kind, error, traceback) -> None:
        if kind is not None and self.stopped_because == "running":  # a signal names itself
            cancelled = issubclass(kind, asyncio.CancelledError | KeyboardInterrupt)
            self.stopped_because = "interrupted" if cancelled else "error"
        try:
            if self._opened:
                self._write_manifest(end=True)
                self.store.write_json(STATS, self.stats())
        except NanofluxError:
            if kind is None:
                raise
            # the error that stopped the run (a full disk, most likely the same one) is
            # the one to show; the manifest is finished by the resume
        finally:
            await self._closing.aclose()

    async def _open(self, closing: contextlib.AsyncExitStack) -> None:
        store = self.store
        domain = self.host.domain(self.config.domain)
        if self.resume:
            store.require_run()
        else:
            store.require_startable()  # before the lock file is made there
        rounds = self.config.rounds
        seeds_spec = (rounds.seeds or domain.default_seeds()) if rounds.seeded else None
        seeds = SeedPool.load(self.host, seeds_spec, domain.name) if seeds_spec else None
        store.lock()
        closing.callback(store.unlock)
        if not self.resume:
            store.create(dump_config(self.config))
        self.log = closing.enter_context(run_log(store.root / LOG, self.run_id))
        if self.resume:
            # Before any model is loaded: refuse a damaged run at once.
            self.log.info("resume: %s", store.recover())
        seats = {role: self._seat(role, closing) for role in ROLES}
        if self.config.novelty.enabled:
            self.gate = SharedGate.open(self.host, self.config.novelty, domain.name)
            closing.callback(self.gate.close)
        candidates = list(store.candidates())
        self.state = RunState.replay(candidates, self.config.profile_size)
        seconds = store.stats().get("seconds", 0.0)
        self.previous_seconds = float(seconds) if isinstance(seconds, int | float) else 0.0
        if self.gate is not None:
            self.gate.reconcile(store.examples(), self.run_id, self.log)
            if self.config.rounds.remember_rejected:
                self.gate.remember_rejected_texts(self.state.rejected_questions)
        self.table = Table(
            config=self.config,
            host=self.host,
            domain=domain,
            prompts=domain.prompts().with_overrides(self.config.prompts),
            seats=seats,
            gate=self.gate,
            form=form_for(domain),
            seeds=seeds,
        )
        # a [judging] tool or a program tool that is not installed stops the run here,
        # not at the first round that gets as far as the Judge
        self.table.judge  # noqa: B018
        if domain.program_tool is not None:
            self.host.tools.get(domain.program_tool)
        self.ledger = Ledger(
            store, self.state, self.config, gate=self.gate, run_id=self.run_id, log=self.log
        )
        self._write_manifest(start=not self.resume)

    def _seat(self, role: str, closing: contextlib.AsyncExitStack) -> Seat:
        """One backend per distinct model, shared by the roles that name it."""
        model = getattr(self.config, role)
        key = json.dumps([model.spec, model.options], sort_keys=True, default=str)
        if key not in self.seats:
            backend = self.host.open_backend(model.spec, model.options)
            closing.push_async_callback(backend.aclose)
            self.seats[key] = Seat(backend, asyncio.Semaphore(max(1, backend.max_concurrency)))
        return self.seats[key]

    def _write_manifest(self, *, start: bool = False, end: bool = False) -> None:
        manifest, now = self.store.manifest(), utc_now()
        if start or not manifest:
            manifest = {
                "run_id": self.run_id,
                "nanoflux_version": __version__,
                "domain": self.table.domain.name,
                "seed": self.config.seed,
                "started_at": now,
                "resumed_at": [],
            }
        elif not end:
            manifest.setdefault("resumed_at", []).append(now)
        if not end:  # the code this session runs, and from which attempt on
            session = {"started_at": now, "from_attempt": self.state.attempts}
            session |= {"nanoflux_version": __version__, "source": source_revision()}
            manifest.setdefault("sessions", []).append(session)
        manifest["store_schema"] = CANDIDATE_SCHEMA
        manifest["plugins"] = [
            {"name": p.name, "distribution": p.distribution, "version": p.version}
            for p in self.host.plugins.values()
        ]
        manifest["models"] = {
            role: seat.backend.describe() for role, seat in self.table.seats.items()
        }
        if self.gate is not None:
            manifest["novelty"] = self.gate.describe()
        seeds = self.table.seeds
        manifest["seeds"] = (
            None if seeds is None else {"spec": seeds.spec, "items": len(seeds.items)}
        )
        if end:
            manifest["ended_at"] = now
            manifest["stopped_because"] = self.stopped_because
        self.store.write_json(MANIFEST, scrub(manifest))

    # -- budgets and stats -----------------------------------------------------------

    def seconds(self) -> float:
        return self.previous_seconds + (time.monotonic() - self.started)

    def budget_exhausted(self, dispatched: int) -> str | None:
        budget, state = self.config.budget, self.state
        if state.accepted >= self.config.target:
            return "target"
        if budget.max_rounds is not None and dispatched >= budget.max_rounds:
            return "max_rounds"
        if budget.max_tokens is not None and state.total_tokens() >= budget.max_tokens:
            return "max_tokens"
        if budget.max_minutes is not None and self.seconds() >= budget.max_minutes * 60:
            return "max_minutes"
        if budget.patience is not None and state.rounds_since_accepted() >= budget.patience:
            return "patience"
        return None

    def stats(self) -> dict[str, Any]:
        return {
            **self.state.counts(self.config.target, self.seconds()),
            "stopped_because": self.stopped_because,
            "backends": self._backend_stats(),
        }

    def progress(self, last_reason: str) -> Progress:
        counts = self.state.counts(self.config.target, self.seconds())
        return Progress(
            accepted=self.state.accepted,
            attempts=self.state.attempts,
            target=self.config.target,
            acceptance_rate=counts["acceptance_rate"],
            tokens_per_second=counts["tokens_per_second"],
            seconds=counts["seconds"],
            last_reason=last_reason,
        )

    def _backend_stats(self) -> dict[str, Any]:
        """Retries and failures by cause, per model, from backends that keep such counters."""
        found = {}
        for seat in self.seats.values():
            stats = seat.backend.stats  # a declared capability: None where not kept
            if stats is not None:
                found[str(seat.backend.spec)] = stats.model_dump(mode="json")
        return found

    # -- the loop --------------------------------------------------------------------

    async def commit(self, outcome: Outcome) -> str:
        """Commit one round; returns the reason decided for its last attempt."""
        written = await self.ledger.commit(outcome)
        if time.monotonic() - self._stats_written > 1.0:
            # stats.json is derivable from candidates.jsonl; refresh it about once a second
            self.store.write_json(STATS, self.stats())
            self._stats_written = time.monotonic()
        return written[-1].reason if written else "empty"

    async def play_all(self, progress: Callable[[Progress], None]) -> None:
        lanes = self.config.lanes
        in_flight: dict[int, asyncio.Task] = {}
        done: dict[int, Outcome] = {}
        next_index = commit_index = self.state.rounds  # rounds are numbered across resumes

        def refill() -> str | None:
            nonlocal next_index
            stop = self.budget_exhausted(next_index)
            while stop is None and len(in_flight) < lanes:
                in_flight[next_index] = asyncio.create_task(
                    play(self.table, next_index, self.state)
                )
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
                    reason = await self.commit(done.pop(commit_index))
                    commit_index += 1
                    progress(self.progress(reason))
                if self.state.accepted >= self.config.target:
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


#: signals that stop a run the way Ctrl-C does: the manifest is finished, the exit is 128+n
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _stopped_by_signals(the_run: Run) -> Iterator[list[signal.Signals]]:
    """SIGTERM and SIGHUP cancel the running task, so the run closes as on Ctrl-C (the
    manifest records the signal) instead of dying at once. Yields the signals received."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    received: list[signal.Signals] = []

    def stop(number: signal.Signals) -> None:
        if not received:
            if the_run.stopped_because == "running":
                the_run.stopped_because = number.name
            if task is not None:
                task.cancel()
        received.append(number)

    installed = []
    for number in STOP_SIGNALS:
        try:
            loop.add_signal_handler(number, stop, number)
            installed.append(number)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or not a Unix loop: the default action stays
    try:
        yield received
    finally:
        for number in installed:
            loop.remove_signal_handler(number)


async def run_async(
    config: RunConfig,
    host: PluginHost,
    *,
    resume: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> RunResult:
    if not isinstance(host, PluginHost):
        raise TypeError("run needs the PluginHost whose plugins it uses")
    if resume and config.out is None:
        raise ConfigError("resume needs the run directory")
    out_dir = Path(config.out) if config.out else default_out_dir(config.domain)
    the_run = Run(config.model_copy(update={"out": out_dir}), host, out_dir, resume=resume)
    with _stopped_by_signals(the_run) as received:
        try:
            async with the_run:
                await the_run.play_all(progress or (lambda _progress: None))
        except asyncio.CancelledError:
            if not received:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            stopped = NanofluxError(
                f"run stopped by {received[0].name}",
                hint=f"continue it with nanoflux run --resume {out_dir}",
            )
            stopped.exit_code = 128 + received[0].value
            raise stopped from None
    return RunResult(
        out_dir=out_dir,
        accepted=the_run.state.accepted,
        attempts=the_run.state.attempts,
        stopped_because=the_run.stopped_because,
        stats=the_run.stats(),
    )


def run(
    config: RunConfig,
    host: PluginHost,
    *,
    resume: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> RunResult:
    """Run (or, with ``resume``, continue) the adversarial loop, as ``nanoflux run`` does."""
    return asyncio.run(run_async(config, host, resume=resume, progress=progress))
