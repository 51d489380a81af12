"""What a stored point carries, the same in both modes (embedded Edge and server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nanoflux.novelty import Neighbor, StoredItem

#: pages of this many points when listing ids
SCROLL_PAGE = 1000


def payload(item: StoredItem) -> dict[str, str]:
    """The payload of a point; ``kind`` and ``run_id`` are what stores filter on."""
    return {"id": item.id, "kind": item.kind, "text": item.text, "run_id": item.run_id}


def neighbor(point_payload: dict[str, Any], score: float) -> Neighbor:
    return Neighbor(
        id=point_payload["id"],
        similarity=float(score),
        kind=point_payload["kind"],
        text=point_payload.get("text", ""),
        run_id=point_payload.get("run_id", ""),
    )


def scroll_ids(scroll: Callable[[Any], tuple[list[Any], Any]]) -> set[str]:
    """Every item id, page by page: ``scroll(offset)`` returns a page of records (each
    with the ``id`` payload) and the next offset, None after the last page."""
    found: set[str] = set()
    offset = None
    while True:
        records, offset = scroll(offset)
        found.update(record.payload["id"] for record in records)
        if offset is None:
            return found
