"""A dependency-free embedder: hashed word and character n-grams.

It needs no model file, so the engine and its tests can gate novelty anywhere. It
catches copies and light rewordings, not paraphrases; real runs use a neural
embedder (``fastembed``).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence

import numpy as np

from ..hookspecs import hookimpl
from ..novelty import Embedder

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder(Embedder):
    def __init__(self, dimension: int = 512):
        self.dimension = dimension
        self.model_name = f"hashing-{dimension}"

    def _features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        grams = [f"w:{w}" for w in words]
        grams += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
        joined = " ".join(words)
        grams += [f"c:{joined[i : i + 4]}" for i in range(max(0, len(joined) - 3))]
        return grams

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in self._features(text):
                digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimension
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, index] += sign
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


@hookimpl
def register_embedders(register):
    register(
        "hashing",
        lambda options: HashingEmbedder(int(options.get("dimension", 512))),
        description="hashed n-grams; no model, catches near-copies only",
    )
