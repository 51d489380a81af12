"""The novelty gate as a run shares it between its lanes and its commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

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
