"""NanoFlux novelty store ``qdrant``.

Embedded by default: Qdrant Edge (Qdrant's engine in-process) keeps one on-disk shard
per collection under ``NANOFLUX_HOME/qdrant``, so novelty spans runs. With the option
``url`` it uses a Qdrant server or cluster through qdrant-client. Both are imported only
when a store is opened: the CLI imports every plugin at startup.
"""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl


def open_qdrant(options):
    from .options import parse_options

    parsed = parse_options(options)
    if parsed.url:
        from .server import ServerStore

        return ServerStore.connect(parsed)
    from .edge import EdgeStore

    return EdgeStore(
        parsed.resolved_path(),
        quantization=parsed.quantization,
        hnsw_m=parsed.hnsw_m,
        hnsw_ef=parsed.hnsw_ef,
        oversampling=parsed.oversampling,
    )


def gate_benchmark(options):
    from .bench import gate_benchmark as run

    return run(options)


@hookimpl
def register_novelty_stores(register):
    register(
        "qdrant",
        open_qdrant,
        description="Qdrant: embedded on disk (Qdrant Edge) by default, or a server (`url`)",
    )


@hookimpl
def register_benchmarks(register):
    register(
        "novelty",
        gate_benchmark,
        description="gate_p50_ms_* / gate_p99_ms_*: one gate check at 1k, 10k, 100k vectors, "
        "against a brute-force NumPy baseline",
    )
