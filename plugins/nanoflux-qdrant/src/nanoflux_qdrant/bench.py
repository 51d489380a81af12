"""``nanoflux bench novelty``: one gate check against 1k, 10k and 100k stored vectors.

A gate check is what :meth:`nanoflux.novelty.NoveltyGate.check_vector` does for every
candidate question once it is embedded: the nearest protected item, then the nearest
accepted one. The embedded store is measured through the real NoveltyGate; the baseline
is brute-force NumPy on the same vectors (one float32 matrix per kind, a matrix-vector
product and an argmax each), in the same process, right after.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from nanoflux.novelty import Embedder, NoveltyGate, StoredItem

from .edge import EdgeStore

DIMENSION = 384
FILL_BATCH = 5000
#: one stored item in five is a protected benchmark item, the rest accepted examples
PROTECTED_EVERY = 5


class _NoEmbedder(Embedder):
    """The gate needs a model name and a dimension; the benchmark brings its own vectors."""

    model_name = "bench-random-384"
    dimension = DIMENSION

    def embed(self, texts):
        raise NotImplementedError("the benchmark passes vectors")


def _label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def _units(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.normal(size=(count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _kind(index: int) -> str:
    return "protected" if index % PROTECTED_EVERY == 0 else "accepted"


def _queries(
    rng: np.random.Generator, stored: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Half near-copies of stored vectors (cosine about 0.9: what the gate must catch),
    half unrelated random vectors (what it must let through)."""
    near = count // 2
    targets = rng.choice(len(stored), near, replace=False)
    noise = _units(rng, near)
    copies = 0.9 * stored[targets] + np.sqrt(1 - 0.81) * noise
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    return np.vstack([copies, _units(rng, count - near)]), targets


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return round(statistics.median(ordered), 3), round(p99, 3)


def measure_size(size: int, queries: int, seed: int, folder: Path) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    label = _label(size)
    store = EdgeStore(folder)
    gate = NoveltyGate(_NoEmbedder(), store, "bench")
    matrix = np.empty((size, DIMENSION), dtype=np.float32)
    started = time.perf_counter()
    for start in range(0, size, FILL_BATCH):
        batch = _units(rng, min(FILL_BATCH, size - start))
        matrix[start : start + len(batch)] = batch
        # model_construct: the vectors are ours and valid; validating 384 floats per item
        # would measure pydantic, not the store
        store.add(
            gate.collection,
            [
                StoredItem.model_construct(
                    id=f"item-{start + i}",
                    vector=vector.tolist(),
                    kind=_kind(start + i),
                    text="",
                    run_id="bench",
                )
                for i, vector in enumerate(batch)
            ],
        )
    store.optimize(gate.collection)  # what close() would do; counted in the fill time
    fill_s = time.perf_counter() - started

    query_vectors, targets = _queries(rng, matrix, queries)
    kinds = np.array([_kind(i) == "protected" for i in range(size)])
    protected, accepted = matrix[kinds], matrix[~kinds]
    protected_ids, accepted_ids = np.flatnonzero(kinds), np.flatnonzero(~kinds)

    # Two ways to score a matrix against one vector; the faster one on this machine is
    # the baseline (BLAS's threads help on an idle machine and hurt on a busy one).
    products = {
        "matmul": lambda matrix, query: matrix @ query,
        "einsum": lambda matrix, query: np.einsum("ij,j->i", matrix, query),
    }

    def numpy_check(query: np.ndarray, product) -> tuple[int, float, int, float]:
        p_scores, a_scores = product(protected, query), product(accepted, query)
        p, a = int(np.argmax(p_scores)), int(np.argmax(a_scores))
        return protected_ids[p], float(p_scores[p]), accepted_ids[a], float(a_scores[a])

    def trial(product) -> float:
        started = time.perf_counter()
        for query in query_vectors[:20]:
            numpy_check(query, product)
        return time.perf_counter() - started

    method = min(products, key=lambda name: trial(products[name]))
    product = products[method]

    gate.check_vector(query_vectors[0].tolist())  # warm-up: page the segments in
    gate_ms, numpy_ms, found = [], [], 0
    for n, query in enumerate(query_vectors):
        as_list = query.tolist()
        started = time.perf_counter()
        decision = gate.check_vector(as_list)
        gate_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        numpy_check(query, product)
        numpy_ms.append((time.perf_counter() - started) * 1000)
        if n < len(targets):
            # the near-copy's own item must be the nearest one the gate reports
            found += decision.nearest is not None and decision.nearest.id == f"item-{targets[n]}"
    store.close()
    gate_p50, gate_p99 = _percentiles(gate_ms)
    numpy_p50, numpy_p99 = _percentiles(numpy_ms)
    return {
        f"gate_p50_ms_{label}": gate_p50,
        f"gate_p99_ms_{label}": gate_p99,
        f"numpy_gate_p50_ms_{label}": numpy_p50,
        f"numpy_gate_p99_ms_{label}": numpy_p99,
        f"numpy_gate_method_{label}": method,
        f"gate_recall_{label}": round(found / max(1, len(targets)), 4),
        f"gate_fill_s_{label}": round(fill_s, 2),
    }


def gate_benchmark(options: dict[str, Any]) -> dict[str, Any]:
    sizes = [int(s) for s in str(options.get("sizes", "1000,10000,100000")).split(",") if s]
    queries = int(options.get("queries", 200))
    result: dict[str, Any] = {
        "gate_store": "qdrant-edge, one shard per kind, exact (int8 scan + float rescoring)",
        "gate_queries": queries,
        "gate_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gate_load_avg_1m": round(os.getloadavg()[0], 2),
    }
    for n, size in enumerate(sizes):
        with tempfile.TemporaryDirectory(prefix="nanoflux-bench-qdrant-") as folder:
            result.update(measure_size(size, queries, seed=n, folder=Path(folder)))
    return result
