"""What a GGUF file's header says: its scalar metadata and the shape of each tensor.

The ``gguf`` package's ``GGUFReader`` parses every field into numpy views, vocabulary
included: seconds for SmolLM2's 49k tokens, more for Qwen's 151k, on every open of a
``BASE+ADAPTER`` spec. This reads the same header and skips arrays by their lengths,
so it costs a fraction of that and never touches the tensor data.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanoflux.errors import ConfigError, clip_path

from .gguf import GGUF_MAGIC

# GGUF value types: struct format of the fixed-size ones; 8 is a string, 9 an array
SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
STRING, ARRAY = 8, 9


@dataclass(frozen=True)
class Array:
    """An array value, recorded by its length only (vocabularies are long)."""

    count: int


@dataclass(frozen=True)
class GgufHeader:
    #: scalar and string values by key; an array as an :class:`Array`
    metadata: dict[str, Any]
    #: tensor name -> its dimensions as ggml counts them (``ne0`` first: the input width)
    tensors: dict[str, tuple[int, ...]]

    def integer(self, key: str, path: Path) -> int:
        value = self.metadata.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"llamacpp: GGUF file {clip_path(path)} has no integer {key}")
        return value


class _Cursor:
    def __init__(self, data: mmap.mmap):
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from("<" + fmt, self.data, self.at)[0]
        self.at += struct.calcsize("<" + fmt)
        return value

    def string(self) -> str:
        size = self.take("Q")
        text = self.data[self.at : self.at + size].decode("utf-8", "replace")
        self.at += size
        return text

    def value(self, kind: int) -> Any:
        if kind in SCALARS:
            return self.take(SCALARS[kind])
        if kind == STRING:
            return self.string()
        if kind != ARRAY:
            raise ValueError(f"unknown value type {kind}")
        item, count = self.take("I"), self.take("Q")
        if item in SCALARS:
            self.at += count * struct.calcsize("<" + SCALARS[item])
        else:
            for _ in range(count):
                self.value(item)
        return Array(count)


def read_header(path: Path) -> GgufHeader:
    """The header of the GGUF file at ``path``; one line naming it if it is not one."""
    try:
        with mapped(path) as data:
            return _parse(_Cursor(data))
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as exc:
        shown = clip_path(path)
        raise ConfigError(f"llamacpp: cannot read the GGUF header of {shown}: {exc}") from None


@contextmanager
def mapped(path: Path) -> Iterator[mmap.mmap]:
    """The file's bytes, read-only and paged in on demand."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        yield data


def _parse(cursor: _Cursor) -> GgufHeader:
    if cursor.data[:4] != GGUF_MAGIC:
        raise ValueError("it does not start with 'GGUF'")
    cursor.at = 4
    version = cursor.take("I")
    if version < 2:
        raise ValueError(f"GGUF version {version} is not supported")
    n_tensors, n_kv = cursor.take("Q"), cursor.take("Q")
    metadata = {}
    for _ in range(n_kv):
        key = cursor.string()
        metadata[key] = cursor.value(cursor.take("I"))
    tensors = {}
    for _ in range(n_tensors):
        name = cursor.string()
        dims = tuple(cursor.take("Q") for _ in range(cursor.take("I")))
        cursor.take("I")  # ggml type
        cursor.take("Q")  # data offset
        tensors[name] = dims
    return GgufHeader(metadata, tensors)
