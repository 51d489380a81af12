"""Per-role options for a llama.cpp model, from ``[attacker.options]`` and friends."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nanoflux.backends import backend_options
from nanoflux.errors import ConfigError
from nanoflux.machine import default_threads
from nanoflux.records import Record


class LlamaOptions(Record):
    """Load options decide which model instance is shared; sampling options are per role."""

    # load options: two roles with equal values share one loaded model
    n_ctx: int = Field(default=4096, ge=256, description="Context window in tokens.")
    n_threads: int = Field(default_factory=default_threads, ge=1)
    n_gpu_layers: int = Field(default=0, ge=-1, description="-1 offloads every layer.")
    n_batch: int = Field(default=512, ge=1)
    chat_format: str | None = Field(
        default=None, description="llama-cpp-python chat format; None uses the GGUF's template."
    )
    # sampling defaults: a request's own temperature / max_tokens / seed win
    temperature: float = Field(default=0.7, ge=0)
    max_tokens: int = Field(default=1024, ge=1)
    repeat_penalty: float = Field(
        default=1.0,
        ge=1.0,
        description="Penalty on recently used tokens (llama.cpp's repeat_penalty). Off by "
        "default: a reply's answer repeats the number its last step computed, and 1.1 "
        "pushed a 1.5B Attacker to write 'user_input' instead of it.",
    )
    seed: int | None = Field(default=None, ge=0, description="None lets llama.cpp pick one.")

    def load_key(self) -> tuple[Any, ...]:
        return (self.n_ctx, self.n_threads, self.n_gpu_layers, self.n_batch, self.chat_format)

    def load_options(self) -> dict[str, Any]:
        return {
            "n_ctx": self.n_ctx,
            "n_threads": self.n_threads,
            "n_threads_batch": self.n_threads,
            "n_gpu_layers": self.n_gpu_layers,
            "n_batch": self.n_batch,
            "chat_format": self.chat_format,
        }


class ServerOptions(LlamaOptions):
    """``llamacpp-server:``: the same model served by llama.cpp's own server, which decodes
    ``parallel`` sequences together (continuous batching)."""

    parallel: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Sequences decoded together (the server's slots); the engine runs this "
        "many calls on the model at once. Each slot has its own n_ctx.",
    )
    cache_reuse: int = Field(
        default=256,
        ge=0,
        description="Reuse a cached prompt prefix of at least this many tokens even when the "
        "prompts differ after it (llama-server --cache-reuse; 0 turns it off).",
    )
    cache_ram_mib: int = Field(
        default=512,
        ge=0,
        description="Host memory for prompts set aside when a slot moves on, to restore "
        "them later (llama-server --cache-ram; 0 turns it off).",
    )
    timeout: float = Field(default=900.0, gt=0, description="Seconds one request may take.")
    startup_timeout: float = Field(
        default=300.0, gt=0, description="Seconds to wait for the server to load the model."
    )

    def load_key(self) -> tuple[Any, ...]:
        return (*super().load_key(), self.parallel, self.cache_reuse, self.cache_ram_mib)


def parse_options(spec: str, options: dict[str, Any]) -> LlamaOptions:
    return backend_options(LlamaOptions, spec, options, "llamacpp")


def parse_server_options(spec: str, options: dict[str, Any]) -> ServerOptions:
    parsed = backend_options(ServerOptions, spec, options, "llamacpp-server")
    if parsed.chat_format is not None:
        raise ConfigError(
            f"{spec}: option chat_format: llama-server reads the chat template from the GGUF",
            hint="drop chat_format, or use llamacpp: (in process) for a llama-cpp-python format",
        )
    return parsed
