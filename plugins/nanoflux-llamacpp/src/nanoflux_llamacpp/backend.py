"""The ``llamacpp:`` backend: chat completions from a local GGUF model.

Structured calls go through llama.cpp's JSON-schema grammar, so even a 135M model
writes parseable JSON. ``Completion.data`` is set only when the reply is one JSON
object that validates against the requested schema; otherwise (typically a reply cut
off at ``max_tokens``) it is ``None`` with the model's ``finish_reason``, and the engine
repairs or counts the failure. No repair call is made here.
"""

from __future__ import annotations

import asyncio
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import Field

from nanoflux.backends import Backend, Completion, CompletionRequest, ModelSpec
from nanoflux.errors import BackendError
from nanoflux.records import Record
from nanoflux.structured import structured_data

from . import build, models, roster
from .gguf import sha256
from .grammar import grammar_schema
from .lora import LoraFile, base_rest, resolve_weights
from .options import LlamaOptions, parse_options


class LlamaStats(Record):
    """Counts the engine or a benchmark can read from ``backend.stats``."""

    calls: int = 0
    failed: int = 0
    invalid: int = Field(default=0, description="structured replies that did not validate")
    truncated: int = Field(default=0, description="replies cut off at max_tokens")
    prompt_tokens: int = 0
    cached_prompt_tokens: int = Field(
        default=0,
        description="prompt tokens a server slot already held (its prompt cache), not read",
    )
    completion_tokens: int = 0
    seconds: float = 0.0
    last_invalid: str | None = None


class LlamaBackend(Backend):
    """What both llama.cpp backends share: the request as llama.cpp takes it (the same
    body goes to ``Llama.create_chat_completion`` and to llama-server's OpenAI-compatible
    ``/v1/chat/completions``), the reply read back, and the model's provenance."""

    backend_id = "llamacpp"

    def __init__(
        self, spec: ModelSpec, options: LlamaOptions, path: Path, lora: LoraFile | None = None
    ):
        super().__init__(spec)
        self.options = options
        self.path = path
        self.lora = lora  # BASE+ADAPTER: the adapter llama.cpp applies to ``path``
        self.stats = LlamaStats()

    def call_arguments(self, request: CompletionRequest) -> dict[str, Any]:
        """What goes to ``Llama.create_chat_completion`` (also used by the benchmark)."""
        options = self.options
        seed = request.seed if request.seed is not None else options.seed
        kwargs: dict[str, Any] = {
            "messages": [m.model_dump() for m in request.messages],
            "temperature": options.temperature
            if request.temperature is None
            else request.temperature,
            "max_tokens": options.max_tokens if request.max_tokens is None else request.max_tokens,
            "repeat_penalty": options.repeat_penalty,
        }
        if seed is not None:
            kwargs["seed"] = seed
        if request.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_object",
                "schema": grammar_schema(request.json_schema),
            }
        return kwargs

    def _completion(
        self,
        reply: dict[str, Any],
        seconds: float,
        schema: dict[str, Any] | None,
        choice: int = 0,
        usage: dict[str, Any] | None = None,
    ) -> Completion:
        """The ``choice``-th reply of a response, counted with ``usage`` (the response's
        own by default)."""
        picked = reply["choices"][choice]
        text = picked["message"].get("content") or ""
        finish_reason = picked.get("finish_reason")
        usage = (reply.get("usage") or {}) if usage is None else usage
        data = None
        if schema is not None:
            data, problem = structured_data(text, schema)
            if data is None:
                self.stats.invalid += 1
                self.stats.last_invalid = problem
        stats = self.stats
        stats.truncated += finish_reason == "length"
        stats.prompt_tokens += usage.get("prompt_tokens", 0)
        stats.cached_prompt_tokens += (usage.get("prompt_tokens_details") or {}).get(
            "cached_tokens", 0
        )
        stats.completion_tokens += usage.get("completion_tokens", 0)
        stats.seconds += seconds
        return Completion(
            text=text,
            data=data,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            seconds=seconds,
            finish_reason=finish_reason,
            model=str(self.spec),
        )

    def describe(self) -> dict[str, Any]:
        options = self.options
        return {
            "spec": str(self.spec),
            "backend": self.backend_id,
            "path": str(self.path),
            "sha256": sha256(self.path),
            "size_bytes": self.path.stat().st_size,
            "load": options.load_options(),
            "sampling": {
                "temperature": options.temperature,
                "max_tokens": options.max_tokens,
                "seed": options.seed,
            },
            "llama_cpp_python": metadata.version("llama-cpp-python"),
            "build": build.describe(self.variant_in_use()),
            **self._provenance(),
            **({"lora": self.lora.describe()} if self.lora else {}),
        }

    def variant_in_use(self) -> str | None:
        """The CPU variant another process loaded for this backend (None: this one's)."""
        return None

    def _provenance(self) -> dict[str, Any]:
        """Where a named model came from, its licence and the hash it was checked against."""
        rest = base_rest(self.spec.rest)
        if rest.startswith("hf:"):
            return {"source": f"huggingface_hub {rest.removeprefix('hf:')}"}
        model = roster.lookup(rest)
        return {"roster": model.describe()} if model else {}


class LlamaCppBackend(LlamaBackend):
    max_concurrency = 1  # one llama.cpp context computes one sequence at a time

    def __init__(self, spec: ModelSpec, options: LlamaOptions, model: models.LoadedModel):
        super().__init__(spec, options, model.path, model.lora)
        self._model: models.LoadedModel | None = model

    @property
    def loaded(self) -> models.LoadedModel | None:
        """The loaded model this backend uses (shared by the backends opened on the same
        file with the same load options); None once closed."""
        return self._model

    async def complete(self, request: CompletionRequest) -> Completion:
        model = self._model
        if model is None:
            raise BackendError(f"{self.spec}: the backend is closed")
        self.stats.calls += 1
        kwargs = self.call_arguments(request)
        async with model.gate():
            try:
                reply, seconds = await asyncio.to_thread(model.chat, kwargs)
            except (ValueError, RuntimeError) as exc:
                # ValueError: the prompt does not fit n_ctx; RuntimeError: llama_decode failed
                self.stats.failed += 1
                raise BackendError(
                    f"{self.spec}: {exc}",
                    hint="raise the n_ctx option" if "context window" in str(exc) else None,
                ) from exc
        return self._completion(reply, seconds, request.json_schema)

    async def aclose(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            # waits for a call in flight, so not on the event loop
            await asyncio.to_thread(models.release, model)


def open_backend(spec: ModelSpec) -> LlamaCppBackend:
    options = parse_options(str(spec), spec.options)
    path, lora = resolve_weights(spec.rest)
    return LlamaCppBackend(spec, options, models.acquire(path, options, lora))
