"""The embedded store: Qdrant Edge shards on disk, two per collection (one per kind).

Qdrant Edge is Qdrant's engine as a library (Rust, in-process). Each collection is a
folder ``<path>/<collection>/`` with a shard for ``protected`` items and one for
``accepted`` items: the gate asks for the nearest item of each kind, and an unfiltered
search of a kind's own shard is 2-3x faster than a search filtered by kind in a shared
one (6.4 vs 2.3-3.5 ms at 100k vectors, same run). A shard's write-ahead log takes a file
lock, so one process at a time may open a collection; a second one gets a StoreError
naming the folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, get_args

from nanoflux.errors import StoreError
from nanoflux.novelty import ItemKind, Neighbor, NoveltyStore, StoredItem, point_id

from .options import check_collection_name
from .points import SCROLL_PAGE, neighbor, payload, scroll_ids

KINDS: tuple[str, ...] = get_args(ItemKind)
CONFIG_FILE = "edge_config.json"
#: points per upsert call: bounded memory for big seeds, few calls for small ones
UPSERT_BATCH = 1000
#: Edge runs no background optimizer; after this many new points in a shard we run it
#: ourselves, so big seeds get their int8 copies (or HNSW graph) before close()
OPTIMIZE_AFTER = 20_000


def _edge_version() -> str | None:
    try:
        return metadata.version("qdrant-edge-py")
    except metadata.PackageNotFoundError:
        return None


class _Collection:
    """The open shards of one collection, by kind."""

    def __init__(self, folder: Path, dimension: int, shards: dict[str, Any]):
        self.folder = folder
        self.dimension = dimension
        self.shards = shards
        self.unoptimized = dict.fromkeys(shards, 0)


class EdgeStore(NoveltyStore):
    """Novelty collections as Qdrant Edge shards under ``root``; cosine similarity."""

    counts_by_kind = True

    def __init__(
        self,
        root: Path,
        *,
        quantization: str = "int8",
        hnsw_m: int = 0,
        hnsw_ef: int | None = None,
        oversampling: float = 2.0,
    ):
        import qdrant_edge

        self._edge = qdrant_edge
        self.root = Path(root)
        self.quantization = quantization
        self.hnsw_m = hnsw_m
        self.hnsw_ef = hnsw_ef
        self.oversampling = oversampling
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the novelty store folder {self.root}: {exc}") from None
        self._open: dict[str, _Collection] = {}

    # -- shards ------------------------------------------------------------------

    def _folder(self, name: str) -> Path:
        return self.root / check_collection_name(name)

    def _exists(self, name: str) -> bool:
        folder = self._folder(name)
        return name in self._open or all((folder / k / CONFIG_FILE).exists() for k in KINDS)

    def _config(self, dimension: int):
        edge = self._edge
        quantization = None
        if self.quantization == "int8":
            quantization = edge.ScalarQuantizationConfig(
                edge.ScalarType.Int8, quantile=0.99, memory=edge.Memory.Pinned
            )
        return edge.EdgeConfig(
            vectors=edge.EdgeVectorParams(size=dimension, distance=edge.Distance.Cosine),
            # m=0: no graph; each search scans every vector (int8 first, then rescoring),
            # which is exact, and at 100k vectors still a few milliseconds
            hnsw_config=edge.HnswIndexConfig(
                m=self.hnsw_m, ef_construct=100, full_scan_threshold=10_000
            ),
            quantization_config=quantization,
        )

    def _load_shard(self, folder: Path):
        try:
            return self._edge.EdgeShard.load(str(folder))
        except Exception as exc:  # qdrant_edge raises plain Exception, with a message
            text = str(exc)
            if "WouldBlock" in text or "lock" in text.lower():
                raise StoreError(
                    f"the novelty store at {folder.parent} is open in another process",
                    hint="the embedded store serves one process at a time: wait for the other "
                    "run or command to finish, or use a Qdrant server (store option `url`)",
                ) from None
            raise StoreError(f"cannot open the novelty collection at {folder}: {text}") from None

    def _stored_dimension(self, folder: Path) -> int:
        try:
            config = json.loads((folder / CONFIG_FILE).read_text("utf-8"))
            return int(config["vectors"][""]["size"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"{folder / CONFIG_FILE}: cannot read the vector size: {exc}"
            ) from None

    def _collection(self, name: str) -> _Collection:
        """The open collection, loading it from disk on first use."""
        if name in self._open:
            return self._open[name]
        folder = self._folder(name)
        if not self._exists(name):
            raise StoreError(
                f"novelty collection {name!r} does not exist in {self.root}",
                hint="seed it (`nanoflux novelty seed`) or run once with this embedder",
            )
        shards: dict[str, Any] = {}
        try:
            for kind in KINDS:
                shards[kind] = self._load_shard(folder / kind)
            sizes = {self._stored_dimension(folder / kind) for kind in KINDS}
            if len(sizes) != 1:
                raise StoreError(f"the shards in {folder} hold vectors of sizes {sorted(sizes)}")
        except StoreError:
            for shard in shards.values():
                shard.close()
            raise
        self._open[name] = _Collection(folder, sizes.pop(), shards)
        return self._open[name]

    # -- NoveltyStore --------------------------------------------------------------

    def ensure_collection(self, name: str, dimension: int) -> None:
        if self._exists(name):
            have = self._collection(name).dimension
            if have != dimension:
                raise StoreError(
                    f"novelty collection {name!r} in {self.root} holds {have}-d vectors, "
                    f"not {dimension}-d",
                    hint="use the embedder the collection was made with, or another store path",
                )
            return
        edge = self._edge
        folder = self._folder(name)
        shards: dict[str, Any] = {}
        try:
            for kind in KINDS:
                shard = edge.EdgeShard.create(str(folder / kind), self._config(dimension))
                shards[kind] = shard
                # the engine asks for one run's ids when it resumes
                shard.update(
                    edge.UpdateOperation.create_field_index(
                        "run_id", edge.PayloadSchemaType.Keyword
                    )
                )
        except Exception as exc:  # qdrant_edge raises plain Exception
            for shard in shards.values():
                shard.close()
            raise StoreError(f"cannot create the novelty collection at {folder}: {exc}") from None
        self._open[name] = _Collection(folder, dimension, shards)

    def _check_dimension(self, collection: _Collection, name: str, length: int) -> None:
        if length != collection.dimension:
            raise StoreError(
                f"a {length}-d vector for novelty collection {name!r}, which holds "
                f"{collection.dimension}-d vectors",
                hint="use the embedder the collection was made with",
            )

    def add(self, collection: str, items: Sequence[StoredItem]) -> None:
        coll = self._collection(collection)
        for item in items:
            self._check_dimension(coll, collection, len(item.vector))
        edge = self._edge
        for kind in KINDS:
            batch = [item for item in items if item.kind == kind]
            if not batch:
                continue
            # an id lives in one kind's shard: re-adding it as the other kind moves it
            others = [point_id(item.id) for item in batch]
            for other in KINDS:
                if other != kind:
                    coll.shards[other].update(edge.UpdateOperation.delete_points(others))
            for start in range(0, len(batch), UPSERT_BATCH):
                points = [
                    edge.Point(
                        point_id(item.id),
                        item.vector,
                        payload(item),
                    )
                    for item in batch[start : start + UPSERT_BATCH]
                ]
                coll.shards[kind].update(edge.UpdateOperation.upsert_points(points))
            coll.unoptimized[kind] += len(batch)
            if coll.unoptimized[kind] >= OPTIMIZE_AFTER:
                coll.shards[kind].optimize()
                coll.unoptimized[kind] = 0

    def unoptimized(self, collection: str) -> dict[str, int]:
        """Points added per kind since the shard was last optimized (Edge has no
        background optimizer; ``add`` runs it every OPTIMIZE_AFTER points)."""
        return dict(self._collection(collection).unoptimized)

    def optimize(self, collection: str) -> None:
        """Build int8 copies (and the HNSW graph, if any) for what was added since last time."""
        coll = self._collection(collection)
        for kind in KINDS:
            coll.shards[kind].optimize()
            coll.unoptimized[kind] = 0

    def _search_params(self):
        edge = self._edge
        quantization = None
        if self.quantization != "none":
            quantization = edge.QuantizationSearchParams(
                rescore=True, oversampling=self.oversampling
            )
        return edge.SearchParams(hnsw_ef=self.hnsw_ef, quantization=quantization)

    def nearest(
        self, collection: str, vector: Sequence[float], *, kind: ItemKind | None = None, k: int = 1
    ) -> list[Neighbor]:
        coll = self._collection(collection)
        self._check_dimension(coll, collection, len(vector))
        edge = self._edge
        request = edge.QueryRequest(
            limit=k,
            query=edge.Query.Nearest(list(vector)),
            with_payload=True,
            params=self._search_params(),
        )
        hits = []
        for shard_kind in (kind,) if kind else KINDS:
            hits.extend(coll.shards[shard_kind].query(request))
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return [neighbor(hit.payload, hit.score) for hit in hits[:k]]

    def ids(self, collection: str, *, run_id: str | None = None) -> set[str]:
        coll = self._collection(collection)
        edge = self._edge
        only_run = None
        if run_id is not None:
            only_run = edge.Filter(
                must=[edge.FieldCondition(key="run_id", match=edge.MatchValue(run_id))]
            )
        found: set[str] = set()
        for shard in coll.shards.values():
            found |= scroll_ids(
                lambda offset, shard=shard: shard.scroll(
                    edge.ScrollRequest(
                        offset=offset,
                        limit=SCROLL_PAGE,
                        filter=only_run,
                        with_payload=["id"],
                        with_vector=False,
                    )
                )
            )
        return found

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        coll = self._collection(collection)
        points = [point_id(i) for i in ids]
        for shard in coll.shards.values():
            shard.update(self._edge.UpdateOperation.delete_points(points))

    def count(self, collection: str, *, kind: ItemKind | None = None) -> int:
        """Items in the collection (0 if it does not exist); ``kind`` counts one kind."""
        if not self._exists(collection):
            return 0
        coll = self._collection(collection)
        request = self._edge.CountRequest(exact=True)
        return sum(int(coll.shards[k].count(request)) for k in ((kind,) if kind else KINDS))

    def close(self) -> None:
        collections, self._open = self._open, {}
        errors = []
        for name, coll in collections.items():
            for kind, shard in coll.shards.items():
                try:
                    if coll.unoptimized[kind]:
                        shard.optimize()
                    shard.close()
                except Exception as exc:  # close the other shards all the same
                    errors.append(f"{name}/{kind}: {exc}")
        if errors:
            raise StoreError(f"closing the novelty store at {self.root}: {'; '.join(errors)}")

    def describe(self) -> dict[str, Any]:
        return {
            "store": "qdrant",
            "mode": "embedded",
            "engine": f"qdrant-edge-py {_edge_version()}",
            "path": str(self.root),
            "quantization": self.quantization,
            "hnsw_m": self.hnsw_m,
        }
