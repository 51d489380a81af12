"""The store on a Qdrant server or cluster, through qdrant-client (option ``url``).

The API key comes from the environment variable named by ``api_key_env``; it is handed
to the client and never stored, logged or described.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from nanoflux.errors import MissingSecret, StoreError
from nanoflux.novelty import ItemKind, Neighbor, NoveltyStore, StoredItem, point_id

from .options import INDEXED_FIELDS, QdrantOptions, check_collection_name
from .points import SCROLL_PAGE, neighbor, payload, scroll_ids

T = TypeVar("T")
UPSERT_BATCH = 256


def public_url(url: str) -> str:
    """The URL without user:password, for manifests and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class ServerStore(NoveltyStore):
    """Novelty collections on a Qdrant server; cosine similarity, payload-indexed kinds."""

    counts_by_kind = True

    def __init__(self, client: Any, *, where: str, api_key_env: str = "QDRANT_API_KEY"):
        from qdrant_client import models

        self.client = client
        self.where = where
        self.api_key_env = api_key_env
        self._models = models
        self._dimensions: dict[str, int] = {}

    @classmethod
    def connect(cls, options: QdrantOptions) -> ServerStore:
        from qdrant_client import QdrantClient

        api_key = os.environ.get(options.api_key_env) or None
        client = QdrantClient(
            url=options.url,
            api_key=api_key,
            timeout=max(1, round(options.timeout)),
            # the first request says whether the server is there; no warning at start-up
            check_compatibility=False,
        )
        return cls(client, where=public_url(options.url or ""), api_key_env=options.api_key_env)

    def _call(self, what: str, function: Callable[[], T]) -> T:
        """Run one client call; turn its errors into one-line StoreErrors."""
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            return function()
        except UnexpectedResponse as exc:
            if exc.status_code in (401, 403):
                raise MissingSecret(
                    f"Qdrant at {self.where} refused {what} ({exc.status_code})",
                    hint=f"put the API key in the environment variable {self.api_key_env}",
                ) from None
            raise StoreError(
                f"Qdrant at {self.where}: {what} failed ({exc.status_code}): {exc.content[:200]!r}"
            ) from None
        except ResponseHandlingException as exc:
            raise StoreError(
                f"Qdrant at {self.where} is unreachable during {what}: {exc}",
                hint="check the store option `url` and that the server is running",
            ) from None
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise StoreError(
                f"Qdrant at {self.where} is unreachable during {what}: {exc}"
            ) from None

    def _dimension(self, name: str) -> int | None:
        """The collection's vector size, or None if it does not exist."""
        if name in self._dimensions:
            return self._dimensions[name]
        exists = self._call("a collection lookup", lambda: self.client.collection_exists(name))
        if not exists:
            return None
        info = self._call("a collection lookup", lambda: self.client.get_collection(name))
        vectors = info.config.params.vectors
        size = getattr(vectors, "size", None)
        if size is None:
            raise StoreError(
                f"Qdrant collection {name!r} at {self.where} uses named vectors",
                hint="NanoFlux needs one unnamed dense vector per point; use another collection",
            )
        self._dimensions[name] = int(size)
        return self._dimensions[name]

    def _require(self, name: str) -> int:
        dimension = self._dimension(check_collection_name(name))
        if dimension is None:
            raise StoreError(f"novelty collection {name!r} does not exist at {self.where}")
        return dimension

    def ensure_collection(self, name: str, dimension: int) -> None:
        have = self._dimension(check_collection_name(name))
        if have is not None:
            if have != dimension:
                raise StoreError(
                    f"novelty collection {name!r} at {self.where} holds {have}-d vectors, "
                    f"not {dimension}-d",
                    hint="use the embedder the collection was made with",
                )
            return
        models = self._models
        self._call(
            "creating a collection",
            lambda: self.client.create_collection(
                name,
                vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE),
            ),
        )
        for field in INDEXED_FIELDS:
            self._call(
                "creating a payload index",
                lambda field=field: self.client.create_payload_index(
                    name, field, field_schema=models.PayloadSchemaType.KEYWORD
                ),
            )
        self._dimensions[name] = dimension

    def _check_dimension(self, name: str, length: int) -> None:
        dimension = self._require(name)
        if length != dimension:
            raise StoreError(
                f"a {length}-d vector for novelty collection {name!r}, which holds "
                f"{dimension}-d vectors",
                hint="use the embedder the collection was made with",
            )

    def _filter(self, field: str, value: str):
        models = self._models
        return models.Filter(
            must=[models.FieldCondition(key=field, match=models.MatchValue(value=value))]
        )

    def add(self, collection: str, items: Sequence[StoredItem]) -> None:
        for item in items:
            self._check_dimension(collection, len(item.vector))
        models = self._models
        for start in range(0, len(items), UPSERT_BATCH):
            points = [
                models.PointStruct(
                    id=point_id(item.id),
                    vector=list(item.vector),
                    payload=payload(item),
                )
                for item in items[start : start + UPSERT_BATCH]
            ]
            self._call(
                "an upsert",
                lambda points=points: self.client.upsert(collection, points=points, wait=True),
            )

    def nearest(
        self, collection: str, vector: Sequence[float], *, kind: ItemKind | None = None, k: int = 1
    ) -> list[Neighbor]:
        self._check_dimension(collection, len(vector))
        response = self._call(
            "a search",
            lambda: self.client.query_points(
                collection,
                query=list(vector),
                query_filter=self._filter("kind", kind) if kind else None,
                limit=k,
                with_payload=True,
            ),
        )
        return [neighbor(point.payload, point.score) for point in response.points]

    def ids(self, collection: str, *, run_id: str | None = None) -> set[str]:
        self._require(collection)
        only_run = self._filter("run_id", run_id) if run_id is not None else None
        return scroll_ids(
            lambda offset: self._call(
                "a scroll",
                lambda: self.client.scroll(
                    collection,
                    scroll_filter=only_run,
                    limit=SCROLL_PAGE,
                    offset=offset,
                    with_payload=["id"],
                    with_vectors=False,
                ),
            )
        )

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        self._require(collection)
        selector = self._models.PointIdsList(points=[point_id(i) for i in ids])
        self._call(
            "a delete",
            lambda: self.client.delete(collection, points_selector=selector, wait=True),
        )

    def count(self, collection: str, *, kind: ItemKind | None = None) -> int:
        """Items in the collection (0 if it does not exist); ``kind`` counts one kind."""
        if self._dimension(check_collection_name(collection)) is None:
            return 0
        result = self._call(
            "a count",
            lambda: self.client.count(
                collection,
                count_filter=self._filter("kind", kind) if kind else None,
                exact=True,
            ),
        )
        return int(result.count)

    def close(self) -> None:
        self.client.close()

    def describe(self) -> dict[str, Any]:
        try:
            version = metadata.version("qdrant-client")
        except metadata.PackageNotFoundError:
            version = None
        return {
            "store": "qdrant",
            "mode": "server",
            "engine": f"qdrant-client {version}",
            "url": self.where,
        }
