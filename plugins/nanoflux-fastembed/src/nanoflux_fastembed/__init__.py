"""NanoFlux embedder ``fastembed``: ONNX sentence embeddings through fastembed.

The default model, all-MiniLM-L6-v2 with int8 weights, ships inside Python packages, so
a fresh install embeds offline. fastembed and ONNX Runtime are imported only when an
embedder is opened: the CLI imports every plugin at startup.
"""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl


def open_fastembed(options):
    from .embedder import open_embedder

    return open_embedder(options)


def embed_benchmark(options):
    from .bench import embed_benchmark as run

    return run(options)


@hookimpl
def register_embedders(register):
    register(
        "fastembed",
        open_fastembed,
        description="ONNX sentence embeddings (fastembed); default all-MiniLM-L6-v2-int8, offline",
    )


@hookimpl
def register_benchmarks(register):
    register(
        "novelty",
        embed_benchmark,
        description="embed_per_s, embed_one_ms: question embeddings on this machine",
    )
