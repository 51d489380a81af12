"""NanoFlux backend for OpenAI and any OpenAI-compatible chat-completions server.

Specs: ``openai:MODEL`` (api.openai.com, key from ``$OPENAI_API_KEY``) and
``openai:MODEL@http://host:port/v1`` (vLLM, SGLang, llama.cpp, Ollama, ...). The
``openai`` SDK is imported only when a backend is opened.
"""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl


def open_openai(spec):
    from .backend import open_backend

    return open_backend(spec)


def throughput_benchmark(options):
    from .bench import throughput_benchmark as run

    return run(options)


@hookimpl
def register_backends(register):
    register(
        "openai",
        open_openai,
        description="OpenAI or any OpenAI-compatible server: openai:MODEL[@http://host:port/v1]",
    )


@hookimpl
def register_benchmarks(register):
    register(
        "backend",
        throughput_benchmark,
        description="throughput: tokens/s through the plugin vs a bare openai client, "
        "against a local llama_cpp.server",
    )
