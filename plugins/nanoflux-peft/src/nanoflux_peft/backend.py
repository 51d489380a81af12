"""The ``hf:`` backend: a transformers model (optionally with a LoRA adapter) as a role.

Options (``[defender.options]`` in a run config, or ``ModelSpec`` options):
``device`` (cuda/cpu, default: cuda when present), ``dtype`` (bfloat16/float32,
default: bf16 on a GPU, float32 on CPU), ``max_tokens`` (default 512),
``temperature`` (default 0.7; 0 is greedy), ``structured``: ``auto`` (schema-guided
JSON when the schema allows it, else prompt and parse), ``guided`` or ``prompt``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from nanoflux.backends import Backend, Completion, CompletionRequest, ModelSpec
from nanoflux.errors import BackendError, ConfigError, ModelOutputError
from nanoflux.structured import extract_json_object

from .chat import encode_text, prompt_text, stop_token_ids
from .decoding import Decoder
from .guided import Schema, Unsupported, describe_keys, write_json
from .models import LoadedModel, load_for_inference, parse_ref

STRUCTURED_MODES = ("auto", "guided", "prompt")
OPTIONS = ("device", "dtype", "max_tokens", "temperature", "structured")


def json_instruction(schema: dict[str, Any]) -> str:
    keys = describe_keys(schema)
    if keys:
        return f"Reply with one JSON object only, with the keys {keys}."
    return f"Reply with one JSON object only, following this JSON schema: {json.dumps(schema)}"


class HFBackend(Backend):
    # One model, one KV cache: calls run one at a time (in a worker thread).
    max_concurrency = 1

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        options = dict(spec.options)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"model {spec}: unknown option(s) {', '.join(unknown)}",
                hint=f"the hf backend takes {', '.join(OPTIONS)}",
            )
        self.device = options.get("device")
        self.dtype = options.get("dtype")
        self.max_tokens = int(options.get("max_tokens", 512))
        self.temperature = float(options.get("temperature", 0.7))
        self.structured = options.get("structured", "auto")
        if self.structured not in STRUCTURED_MODES:
            raise ConfigError(
                f"model {spec}: option structured={self.structured!r}",
                hint=f"use one of {', '.join(STRUCTURED_MODES)}",
            )
        self.ref = parse_ref(str(spec))
        self._loaded: LoadedModel | None = None
        self.loaded()

    def loaded(self) -> LoadedModel:
        """The model and tokenizer this backend generates with (loaded once, cached)."""
        if self._loaded is None:
            self._loaded = load_for_inference(self.ref, device=self.device, dtype=self.dtype)
        return self._loaded

    async def complete(self, request: CompletionRequest) -> Completion:
        return await asyncio.to_thread(self._complete, request)

    def _mode(self, schema: dict[str, Any] | None) -> str | None:
        if schema is None:
            return None
        if self.structured == "prompt":
            return "prompt"
        try:
            Schema(schema).check()
        except Unsupported:
            return "prompt"
        return "guided"

    def _complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        loaded = self.loaded()
        tokenizer = loaded.tokenizer
        messages = [m.model_dump() for m in request.messages]
        schema = request.json_schema
        mode = self._mode(schema)
        if schema is not None:
            messages = _with_instruction(messages, json_instruction(schema))
        max_tokens = request.max_tokens or self.max_tokens
        temperature = self.temperature if request.temperature is None else request.temperature
        stops = stop_token_ids(tokenizer, loaded.model)
        data = None
        with loaded.lock:
            try:
                prompt_ids = encode_text(tokenizer, prompt_text(tokenizer, messages))
                decoder = Decoder(
                    loaded.model, tokenizer, prompt_ids, temperature=temperature, seed=request.seed
                )
                if mode == "guided":
                    data = write_json(decoder, schema, max_tokens=max_tokens, stops=stops)
                    text, finish = json.dumps(data, ensure_ascii=False), "stop"
                else:
                    text, finish = decoder.generate(max_tokens, stops)
            except BackendError:
                raise
            except RuntimeError as exc:  # torch: out of memory, device errors
                raise BackendError(f"{self.spec}: generation failed: {exc}") from exc
        if mode == "prompt":
            try:
                data = extract_json_object(text)
            except ModelOutputError:
                data = None
        return Completion(
            text=text,
            data=data,
            prompt_tokens=decoder.prompt_tokens,
            completion_tokens=decoder.new_tokens,
            seconds=time.perf_counter() - started,
            finish_reason=finish,
            model=str(self.spec),
        )

    async def aclose(self) -> None:
        # The weights stay in the per-process cache for the next open of the same spec.
        self._loaded = None

    def describe(self) -> dict[str, Any]:
        return {
            "spec": str(self.spec),
            "base": self.ref.base.label,
            "adapter": str(self.ref.adapter) if self.ref.adapter else None,
            "device": self.device or "auto",
            "dtype": self.dtype or "auto",
            "structured": self.structured,
        }


def _with_instruction(messages: list[dict[str, str]], instruction: str) -> list[dict[str, str]]:
    messages = [dict(m) for m in messages]
    for message in reversed(messages):
        if message["role"] == "user":
            message["content"] = f"{message['content']}\n\n{instruction}"
            return messages
    return [*messages, {"role": "user", "content": instruction}]


def open_hf(spec: ModelSpec) -> HFBackend:
    return HFBackend(spec)
