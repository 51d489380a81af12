"""``nanoflux bench novelty``: how fast the embedder turns questions into vectors."""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from nanoflux.machine import available_cpus

from .embedder import DEFAULT_MODEL, DYNAMIC_MODEL, open_embedder

_NAMES = ["Janet", "Omar", "Li", "Priya", "Carlos", "Ama", "Noah", "Sofia", "Kenji", "Fatima"]
_THINGS = ["apples", "tickets", "marbles", "books", "eggs", "bricks", "stamps", "cookies"]
_PLACES = ["market", "school fair", "bakery", "library sale", "harbour", "garage sale"]


def question_corpus(count: int, seed: int = 0) -> list[str]:
    """Math-word-problem sentences of GSM8K length (about 25 to 70 words), all different."""
    rng = random.Random(seed)
    corpus = []
    for i in range(count):
        name, other = rng.sample(_NAMES, 2)
        thing, place = rng.choice(_THINGS), rng.choice(_PLACES)
        a, b, c, d = (rng.randint(2, 90) for _ in range(4))
        parts = [
            f"{name} has {a} {thing} and buys {b} more at the {place}.",
            f"Then {name} gives {c} of them to {other}, who already had {d}.",
            f"Each of the {thing} costs ${rng.randint(1, 9)}.{rng.randint(10, 99)}.",
            f"On the way home, {name} finds {rng.randint(2, 20)} more in a box labelled {i}.",
            f"{other} then doubles what {other} has and sells a third of it.",
        ]
        body = " ".join(parts[: rng.randint(2, len(parts))])
        corpus.append(f"{body} How many {thing} does {name} have at the end of the day?")
    return corpus


def measure(embedder_options: dict[str, Any], corpus: list[str], repeats: int) -> dict[str, float]:
    started = time.perf_counter()
    embedder = open_embedder(embedder_options)
    load_s = time.perf_counter() - started
    embedder.embed(corpus[:32])  # warm-up: ONNX Runtime plans its kernels on first use
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        embedder.embed(corpus)
        best = min(best, time.perf_counter() - started)
    singles = []
    for text in corpus[:50]:
        started = time.perf_counter()
        embedder.embed([text])
        singles.append((time.perf_counter() - started) * 1000)
    return {
        "per_s": round(len(corpus) / best, 1),
        "one_ms": round(statistics.median(singles), 2),
        "load_s": round(load_s, 3),
    }


def per_cpu_second(embedder_options: dict[str, Any], corpus: list[str]) -> float:
    """Questions per CPU-second with one thread: what one core does, however busy the
    machine is (a busy machine stretches wall time, not this process's CPU time)."""
    embedder = open_embedder({**embedder_options, "threads": 1})
    embedder.embed(corpus[:32])
    started = time.process_time()
    embedder.embed(corpus)
    return round(len(corpus) / (time.process_time() - started), 1)


def embed_benchmark(options: dict[str, Any]) -> dict[str, Any]:
    """``embed_per_s``: question embeddings per second, batched, with the default model on
    every CPU; ``embed_one_ms``: the median time for one question, as the gate embeds each
    candidate; ``embed_per_cpu_s``: questions per CPU-second on one thread. ``*_dynamic``:
    the same for the int8-dynamic model."""
    count = int(options.get("sentences", 512))
    repeats = int(options.get("repeats", 2))
    threads = int(options.get("threads", available_cpus()))
    shared: dict[str, Any] = {"threads": threads}
    if "batch_size" in options:
        shared["batch_size"] = int(options["batch_size"])
    corpus = question_corpus(count)
    result: dict[str, Any] = {
        "embed_model": options.get("model", DEFAULT_MODEL),
        "embed_threads": threads,
        "embed_sentences": count,
        "embed_mean_words": round(statistics.mean(len(t.split()) for t in corpus), 1),
        "embed_load_avg_1m": round(os.getloadavg()[0], 2),
    }
    models = {"": result["embed_model"]}
    if "model" not in options and options.get("dynamic", "true") != "false":
        models["_dynamic"] = DYNAMIC_MODEL
    for suffix, model in models.items():
        measured = measure({**shared, "model": model}, corpus, repeats)
        result.update({f"embed_{key}{suffix}": value for key, value in measured.items()})
        result[f"embed_per_cpu_s{suffix}"] = per_cpu_second({"model": model}, corpus)
    return result
