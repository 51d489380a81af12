"""The novelty gate as a run shares it between its lanes and its commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import numpy as np

from ..config import NoveltySettings
from ..novelty import NoveltyDecision, NoveltyGate, NoveltyThresholds
from ..plugins import PluginHost
from ..records import Example


class SharedGate:
    """A :class:`NoveltyGate` whose store is used by one thread at a time.

    Stores need not be thread-safe: lane threads check while the commit adds.
    """

    def __init__(self, gate: NoveltyGate):
        self.gate = gate
        self._lock = threading.Lock()
        # This run's rejected questions, kept in memory only: an Attacker that repeats
        # itself then costs one embedding, not a round. Not shared with other runs.
        self._rejected = np.zeros((0, 0), dtype=np.float32)

    @classmethod
    def open(cls, host: PluginHost, settings: NoveltySettings, domain: str) -> SharedGate:
        embedder = host.open_embedder(settings.embedder, settings.embedder_options)
        store = host.open_store(settings.store, settings.store_options)
        try:
            gate = NoveltyGate(
                embedder,
                store,
                domain,
                NoveltyThresholds(
                    duplicate=settings.duplicate_threshold,
                    contaminated=settings.contamination_threshold,
                ),
            )
        except BaseException:
            store.close()
            raise
        return cls(gate)

    def embed(self, text: str) -> list[float]:
        return self.gate.embed(text)

    def check(self, vector: list[float]) -> NoveltyDecision:
        with self._lock:
            return self.gate.check_vector(vector)

    def repeats_rejected(self, vector) -> float:
        """The highest cosine similarity of ``vector`` to a question this run rejected."""
        with self._lock:
            if not len(self._rejected):
                return 0.0
            return float(np.max(self._rejected @ _unit(vector)))

    @staticmethod
    def similarity(vector, other) -> float:
        """The cosine similarity of two questions' vectors."""
        return float(_unit(vector) @ _unit(other))

    def remember_rejected(self, vectors) -> None:
        rows = np.array([_unit(v) for v in vectors], dtype=np.float32)
        if not len(rows):
            return
        with self._lock:
            self._rejected = rows if not len(self._rejected) else np.vstack([self._rejected, rows])

    def remember_rejected_texts(self, texts: list[str]) -> None:
        if texts:
            self.remember_rejected(self.gate.embedder.embed(texts))

    @property
    def duplicate_threshold(self) -> float:
        return self.gate.thresholds.duplicate

    def remember(self, item_id: str, text: str, *, run_id: str, vector) -> None:
        with self._lock:
            self.gate.remember(item_id, text, run_id=run_id, vector=vector)

    def reconcile(self, examples: Iterable[Example], run_id: str, log: logging.Logger) -> None:
        """Make the novelty store agree with dataset.jsonl for this run's items."""
        gate = self.gate
        texts = {e.id: e.messages[0].content for e in examples}
        stored = gate.store.ids(gate.collection, run_id=run_id)
        stale = stored - set(texts)
        if stale:
            gate.store.delete(gate.collection, sorted(stale))
        missing = [(i, text) for i, text in texts.items() if i not in stored]
        if missing:
            gate.remember_many(missing, kind="accepted", run_id=run_id)
        if stale or missing:
            log.info("novelty store reconciled: %d removed, %d added", len(stale), len(missing))

    def describe(self) -> dict:
        return {
            "embedder": self.gate.embedder.describe(),
            "store": self.gate.store.describe(),
            "collection": self.gate.collection,
        }

    def close(self) -> None:
        self.gate.store.close()


def _unit(vector) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


#: items embedded and stored between two progress calls of :meth:`OpenGate.protect`
PROTECT_CHUNK = 512


class OpenGate:
    """The embedder, store and gate of one domain, as a run opens them; closes the store
    on exit."""

    def __init__(self, host: PluginHost, settings: NoveltySettings, domain: str, thresholds=None):
        host.domain(domain)  # an unknown domain is an error, not a new empty collection
        self.embedder = host.open_embedder(settings.embedder, settings.embedder_options)
        self.store = host.open_store(settings.store, settings.store_options)
        self.thresholds = thresholds
        self.domain = domain

    def __enter__(self) -> OpenGate:
        try:
            self.gate = NoveltyGate(self.embedder, self.store, self.domain, self.thresholds)
        except BaseException:
            self.store.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.store.close()

    def protect(self, spec, items: dict[str, str], progress=None) -> int:
        """Store ``items`` (:func:`benchmark_questions` of benchmark ``spec``) as protected,
        so that a candidate too close to one is ``contaminated``; protecting again replaces
        them. ``progress(done, total)`` is called after each chunk. Returns the count."""
        pairs = list(items.items())
        for start in range(0, len(pairs), PROTECT_CHUNK):
            self.gate.remember_many(
                pairs[start : start + PROTECT_CHUNK],
                kind="protected",
                run_id=f"benchmark:{spec.format}",
            )
            if progress is not None:
                progress(min(start + PROTECT_CHUNK, len(pairs)), len(pairs))
        return len(pairs)


def benchmark_questions(host: PluginHost, spec: str):
    """The parsed ``DOMAIN:FORMAT:PATH`` and its questions by id, FORMAT:ITEM_ID (a file
    that repeats an id keeps its last question): read before a store is opened, so that
    a bad file changes nothing."""
    from ..domains import BenchmarkSpec, load_benchmark

    parsed = BenchmarkSpec.parse(spec)
    items = {f"{parsed.format}:{item.id}": item.question for item in load_benchmark(host, parsed)}
    return parsed, items
