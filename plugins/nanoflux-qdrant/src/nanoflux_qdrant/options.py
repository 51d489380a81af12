"""``[novelty.store_options]`` for ``store = "qdrant"``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from nanoflux.errors import ConfigError, StoreError
from nanoflux.paths import home
from nanoflux.records import Record

#: the payload fields (every point carries id, kind, text, run_id) indexed for filtering
INDEXED_FIELDS = ("kind", "run_id")

_COLLECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class QdrantOptions(Record):
    path: Path | None = Field(
        default=None,
        description="Folder of the embedded store; default NANOFLUX_HOME/qdrant.",
    )
    url: str | None = Field(
        default=None, description="A Qdrant server or cluster instead of the embedded store."
    )
    api_key_env: str = Field(
        default="QDRANT_API_KEY",
        min_length=1,
        description="The environment variable holding the server's API key (never logged).",
    )
    timeout: float = Field(default=10.0, gt=0, description="Server requests, in seconds.")
    quantization: Literal["int8", "none"] = Field(
        default="int8",
        description="Embedded store: int8 copies of the vectors scanned first, then the "
        "best candidates rescored with the float vectors, so similarities stay exact.",
    )
    hnsw_m: int = Field(
        default=0,
        ge=0,
        le=128,
        description="Embedded store: edges per node of an HNSW graph; 0 builds none and "
        "every search is exhaustive (exact).",
    )
    hnsw_ef: int | None = Field(default=None, ge=1, description="HNSW search breadth.")
    oversampling: float = Field(
        default=2.0, ge=1.0, description="Quantized candidates rescored per result."
    )

    @model_validator(mode="after")
    def _one_place(self) -> QdrantOptions:
        if self.url and self.path:
            raise ValueError("set either `path` (embedded store) or `url` (server), not both")
        return self

    def resolved_path(self) -> Path:
        return (self.path or home() / "qdrant").expanduser()


def parse_options(options: dict[str, Any]) -> QdrantOptions:
    try:
        return QdrantOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        field = f".{where}" if where else ""
        raise ConfigError(f"novelty.store_options{field}: {first['msg']}") from None


def check_collection_name(name: str) -> str:
    """Collection names become folder names: no separators, no dot-files."""
    if not _COLLECTION.match(name):
        raise StoreError(
            f"novelty collection name {name!r} is not allowed",
            hint="use letters, digits, '-', '_' and '.', starting with a letter or digit",
        )
    return name
