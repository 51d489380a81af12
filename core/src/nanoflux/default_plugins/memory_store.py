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
    def __init__(self, dimension: int):
        self.dimension = dimension
        self.vectors = np.zeros((0, dimension), dtype=np.float32)
        self.meta: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}


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
            coll.vectors = data["vectors"].astype(np.float32)
            coll.meta = json.loads(str(data["meta"]))
            coll.index = {m["id"]: i for i, m in enumerate(coll.meta)}
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
            meta = {"id": item.id, "kind": item.kind, "text": item.text, "run_id": item.run_id}
            if item.id in coll.index:
                row = coll.index[item.id]
                coll.vectors[row] = vector
                coll.meta[row] = meta
            else:
                coll.index[item.id] = len(coll.meta)
                coll.meta.append(meta)
                coll.vectors = np.vstack([coll.vectors, vector[None, :]])
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
            mask = np.array([m["kind"] == kind for m in coll.meta])
            scores = np.where(mask, scores, -np.inf)
        order = np.argsort(-scores)[:k]
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
        coll.vectors = coll.vectors[keep]
        coll.meta = [coll.meta[i] for i in keep]
        coll.index = {m["id"]: i for i, m in enumerate(coll.meta)}
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
