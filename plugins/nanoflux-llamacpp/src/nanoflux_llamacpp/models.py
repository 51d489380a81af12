"""Loaded llama.cpp models, shared by every role that opens the same file the same way.

A ``Llama`` instance is not safe to call from two threads at once, and a second copy
of a multi-GB model is memory a run does not have. So one instance per (file, load
options) per process, reference-counted by the backends that use it, with a lock
that serialises calls into it. Calls run in a worker thread; an asyncio lock per event
loop keeps waiting callers on the loop instead of parking one thread each.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from nanoflux.errors import ConfigError

from .lora import LoraFile
from .options import LlamaOptions


class LoadedModel:
    def __init__(
        self,
        key: tuple[Any, ...],
        path: Path,
        options: LlamaOptions,
        llama: Any,
        lora: LoraFile | None = None,
    ):
        self.key = key
        self.path = path
        self.lora = lora
        self.load_options = options.load_options()
        self.llama = llama
        self.users = 0
        self.lock = threading.Lock()  # held for the length of a call into llama
        self._gates_lock = threading.Lock()  # never held long: the event loop takes it
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def gate(self) -> asyncio.Lock:
        """The asyncio lock for the running loop (asyncio locks belong to one loop)."""
        loop = asyncio.get_running_loop()
        with self._gates_lock:
            gate = self._gates.get(loop)
            if gate is None:
                gate = self._gates[loop] = asyncio.Lock()
        return gate

    def chat(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """One chat completion, in the calling (worker) thread; returns (reply, seconds)."""
        with self.lock:
            if self.llama is None:
                raise RuntimeError("model was closed")
            started = time.perf_counter()
            reply = self.llama.create_chat_completion(**kwargs)
            return reply, time.perf_counter() - started


_loaded: dict[tuple[Any, ...], LoadedModel] = {}
_loaded_lock = threading.Lock()


def _load(path: Path, options: LlamaOptions, lora: LoraFile | None) -> Any:
    from llama_cpp import Llama

    from .build import load_cpu_backend

    load_cpu_backend()  # a runtime-dispatch build has no CPU backend until one is loaded

    try:
        return Llama(
            model_path=str(path),
            **options.load_options(),
            **({"lora_path": str(lora.path)} if lora else {}),
            verbose=False,
        )
    except ValueError as exc:  # llama.cpp could not read the file
        raise ConfigError(f"llamacpp: cannot load GGUF file {path}: {exc}") from None
    except RuntimeError as exc:  # llama.cpp refused the adapter (its log says why)
        raise ConfigError(f"llamacpp: cannot apply {lora and lora.path} to {path}: {exc}") from None


def acquire(path: Path, options: LlamaOptions, lora: LoraFile | None = None) -> LoadedModel:
    """The shared instance for this file, adapter and load options, loading it on first
    use. An adapter is applied to the instance's context, so a model with one is never
    shared with the base or with another adapter."""
    key = (str(path), lora and (str(lora.path), lora.digest), *options.load_key())
    with _loaded_lock:
        model = _loaded.get(key)
        if model is None:
            model = LoadedModel(key, path, options, _load(path, options, lora), lora)
            _loaded[key] = model
        model.users += 1
        return model


def release(model: LoadedModel) -> None:
    """Drop one user; the last one frees the model (after any call in flight)."""
    with _loaded_lock:
        model.users -= 1
        if model.users > 0:
            return
        _loaded.pop(model.key, None)
    with model.lock:
        llama, model.llama = model.llama, None
    if llama is not None:
        llama.close()


def loaded_count() -> int:
    """How many distinct models this process holds (for tests and diagnostics)."""
    with _loaded_lock:
        return len(_loaded)
