"""Embedders, novelty stores, and the gate that uses them before the Defender runs.

A store keeps one collection per (domain, embedding model). Items are either
``accepted`` examples (from any run) or ``protected`` benchmark items; a candidate
too close to the first is a ``duplicate``, too close to the second ``contaminated``.
"""

from __future__ import annotations

import abc
import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .records import Record

ItemKind = Literal["accepted", "protected"]
NoveltyVerdict = Literal["novel", "duplicate", "contaminated"]


class Embedder(abc.ABC):
    """Turns texts into unit-length vectors."""

    #: the model name recorded in manifests and in collection names
    model_name: str
    dimension: int

    @abc.abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dimension), float32, each row L2-normalised."""

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_name, "dimension": self.dimension}


class StoredItem(Record):
    id: str = Field(description="The example or benchmark item id; re-adding an id replaces it.")
    vector: list[float]
    kind: ItemKind
    text: str
    run_id: str = ""


class Neighbor(Record):
    id: str
    similarity: float
    kind: ItemKind
    text: str
    run_id: str = ""


class NoveltyStore(abc.ABC):
    """Vectors by collection; cosine similarity."""

    #: optional capability: ``count(collection, kind=...)`` counts one kind of item
    counts_by_kind: bool = False

    @abc.abstractmethod
    def ensure_collection(self, name: str, dimension: int) -> None:
        """Create the collection if missing; StoreError if it exists with another dimension."""

    @abc.abstractmethod
    def add(self, collection: str, items: Sequence[StoredItem]) -> None:
        """Insert or replace items by id."""

    @abc.abstractmethod
    def nearest(
        self, collection: str, vector: Sequence[float], *, kind: ItemKind | None = None, k: int = 1
    ) -> list[Neighbor]:
        """The k most similar items, most similar first; optionally only of one kind."""

    @abc.abstractmethod
    def ids(self, collection: str, *, run_id: str | None = None) -> set[str]:
        """Ids of stored items, optionally only those added by one run."""

    @abc.abstractmethod
    def delete(self, collection: str, ids: Sequence[str]) -> None:
        """Remove items by id; unknown ids are ignored."""

    @abc.abstractmethod
    def count(self, collection: str) -> int:
        """Number of items in the collection (0 if it does not exist). A store that sets
        ``counts_by_kind`` also takes ``kind=`` to count protected or accepted items only."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release files or connections."""

    def describe(self) -> dict[str, Any]:
        return {"store": type(self).__name__}


def collection_name(domain: str, model_name: str) -> str:
    """One collection per domain and embedding model, with a name every store accepts."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-")
    return f"nanoflux-{domain}-{slug}"


def point_id(item_id: str) -> str:
    """A UUID derived from an item id, for stores that only accept UUIDs or integers."""
    return str(uuid.UUID(hashlib.md5(item_id.encode()).hexdigest()))


class NoveltyDecision(Record):
    verdict: NoveltyVerdict
    similarity: float = Field(description="Similarity to the nearest stored item (0 if empty).")
    nearest: Neighbor | None = None


class NoveltyThresholds(Record):
    duplicate: float = Field(default=0.9, gt=0, le=1)
    contaminated: float = Field(default=0.85, gt=0, le=1)


class NoveltyGate:
    """Decides whether a question is new enough, and remembers accepted ones."""

    def __init__(
        self,
        embedder: Embedder,
        store: NoveltyStore,
        domain: str,
        thresholds: NoveltyThresholds | None = None,
    ):
        self.embedder = embedder
        self.store = store
        self.domain = domain
        self.thresholds = thresholds or NoveltyThresholds()
        self.collection = collection_name(domain, embedder.model_name)
        store.ensure_collection(self.collection, embedder.dimension)

    def embed(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0].tolist()

    def check_vector(self, vector: Sequence[float]) -> NoveltyDecision:
        protected = self.store.nearest(self.collection, vector, kind="protected", k=1)
        if protected and protected[0].similarity >= self.thresholds.contaminated:
            return NoveltyDecision(
                verdict="contaminated", similarity=protected[0].similarity, nearest=protected[0]
            )
        accepted = self.store.nearest(self.collection, vector, kind="accepted", k=1)
        best = max(protected + accepted, key=lambda n: n.similarity, default=None)
        if accepted and accepted[0].similarity >= self.thresholds.duplicate:
            return NoveltyDecision(
                verdict="duplicate", similarity=accepted[0].similarity, nearest=accepted[0]
            )
        return NoveltyDecision(
            verdict="novel", similarity=best.similarity if best else 0.0, nearest=best
        )

    def check(self, text: str) -> NoveltyDecision:
        return self.check_vector(self.embed(text))

    def remember(
        self,
        item_id: str,
        text: str,
        *,
        kind: ItemKind = "accepted",
        run_id: str = "",
        vector: Sequence[float] | None = None,
    ) -> None:
        vec = list(vector) if vector is not None else self.embed(text)
        self.store.add(
            self.collection,
            [StoredItem(id=item_id, vector=vec, kind=kind, text=text, run_id=run_id)],
        )

    def remember_many(
        self, items: Sequence[tuple[str, str]], *, kind: ItemKind, run_id: str = "", batch: int = 64
    ) -> int:
        """Embed and store (id, text) pairs in batches; returns how many were stored."""
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            vectors = self.embedder.embed([text for _, text in chunk])
            self.store.add(
                self.collection,
                [
                    StoredItem(id=i, vector=v.tolist(), kind=kind, text=t, run_id=run_id)
                    for (i, t), v in zip(chunk, vectors, strict=True)
                ],
            )
        return len(items)
