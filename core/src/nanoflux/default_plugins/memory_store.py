"""A brute-force NumPy novelty store, in memory or saved to one ``.npz`` file per collection.

Exact and simple: the baseline the Qdrant store is measured against, and the store
for tests and small runs that need no service.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..hookspecs import hookimpl
from ..novelty import ItemKind, Neighbor, NoveltyStore, StoredItem


class _Collection:
    """Rows in a buffer that doubles when full, so adding one row is amortised O(1)."""

    def __init__(self, dimension: int):
        self.dimension = dimension
        self._buffer = np.zeros((16, dimension), dtype=np.float32)
        self._protected = np.zeros(16, dtype=bool)
        self.meta: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}

    @property
    def vectors(self) -> np.ndarray:
        return self._buffer[: len(self.meta)]

    def kind_mask(self, kind: str) -> np.ndarray:
        protected = self._protected[: len(self.meta)]
        return protected if kind == "protected" else ~protected

    def load(self, vectors: np.ndarray, meta: list[dict[str, Any]]) -> None:
        self._buffer = np.array(vectors, dtype=np.float32).reshape(-1, self.dimension)
        self._protected = np.array([m["kind"] == "protected" for m in meta], dtype=bool)
        self.meta = list(meta)
        self.index = {m["id"]: i for i, m in enumerate(self.meta)}

    def put(self, vector: np.ndarray, meta: dict[str, Any]) -> None:
        row = self.index.get(meta["id"])
        if row is None:
            row = len(self.meta)
            if row == len(self._buffer):
                grow = max(16, row)
                self._buffer = np.vstack(
                    [self._buffer, np.zeros((grow, self.dimension), np.float32)]
                )
                self._protected = np.concatenate([self._protected, np.zeros(grow, dtype=bool)])
            self.index[meta["id"]] = row
            self.meta.append(meta)
        else:
            self.meta[row] = meta
        self._buffer[row] = vector
        self._protected[row] = meta["kind"] == "protected"


class MemoryStore(NoveltyStore):
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path else None
        self._collections: dict[str, _Collection] = {}
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)

    def _file(self, name: str) -> Path | None:
        return self.path / f"{name}.npz" if self.path else None

    def _get(self, name: str) -> _Collection:
        if name not in self._collections:
            file = self._file(name)
            if file is None or not file.exists():
                raise StoreError(f"novelty collection {name!r} does not exist")
            data = np.load(file, allow_pickle=False)
            coll = _Collection(int(data["vectors"].shape[1]))
            coll.load(data["vectors"], json.loads(str(data["meta"])))
            self._collections[name] = coll
        return self._collections[name]

    def ensure_collection(self, name: str, dimension: int) -> None:
        try:
            coll = self._get(name)
        except StoreError:
            self._collections[name] = _Collection(dimension)
            self._save(name)
            return
        if coll.dimension != dimension:
            raise StoreError(
                f"novelty collection {name!r} holds {coll.dimension}-d vectors, not {dimension}-d",
                hint="use the embedder the collection was made with, or another store path",
            )

    def _save(self, name: str) -> None:
        file = self._file(name)
        if file is None:
            return
        coll = self._collections[name]
        tmp = file.with_suffix(".tmp.npz")
        np.savez(tmp, vectors=coll.vectors, meta=np.array(json.dumps(coll.meta)))
        tmp.replace(file)

    def add(self, collection: str, items: Sequence[StoredItem]) -> None:
        coll = self._get(collection)
        for item in items:
            if len(item.vector) != coll.dimension:
                raise StoreError(
                    f"vector of dimension {len(item.vector)} for a {coll.dimension}-d collection"
                )
            vector = np.asarray(item.vector, dtype=np.float32)
            norm = np.linalg.norm(vector)
            vector = vector / norm if norm else vector
            coll.put(
                vector, {"id": item.id, "kind": item.kind, "text": item.text, "run_id": item.run_id}
            )
        self._save(collection)

    def nearest(
        self, collection: str, vector: Sequence[float], *, kind: ItemKind | None = None, k: int = 1
    ) -> list[Neighbor]:
        coll = self._get(collection)
        if not coll.meta:
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = np.linalg.norm(query)
        scores = coll.vectors @ (query / norm if norm else query)
        if kind is not None:
            scores = np.where(coll.kind_mask(kind), scores, -np.inf)
        if k < len(scores):
            top = np.argpartition(-scores, k - 1)[:k]
            order = top[np.argsort(-scores[top])]
        else:
            order = np.argsort(-scores)
        return [
            Neighbor(similarity=float(scores[i]), **coll.meta[i])
            for i in order
            if np.isfinite(scores[i])
        ]

    def ids(self, collection: str, *, run_id: str | None = None) -> set[str]:
        coll = self._get(collection)
        return {m["id"] for m in coll.meta if run_id is None or m["run_id"] == run_id}

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        coll = self._get(collection)
        drop = {coll.index[i] for i in ids if i in coll.index}
        if not drop:
            return
        keep = [i for i in range(len(coll.meta)) if i not in drop]
        coll.load(coll.vectors[keep], [coll.meta[i] for i in keep])
        self._save(collection)

    def count(self, collection: str) -> int:
        try:
            return len(self._get(collection).meta)
        except StoreError:
            return 0

    def describe(self) -> dict[str, Any]:
        return {"store": "memory", "path": str(self.path) if self.path else None}


@hookimpl
def register_novelty_stores(register):
    register(
        "memory",
        lambda options: MemoryStore(options.get("path")),
        description="exact NumPy search; in memory, or one .npz file per collection",
    )
