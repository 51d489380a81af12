"""``BASE+ADAPTER``: a PEFT LoRA adapter, applied by llama.cpp to the base GGUF.

``hf:qwen2.5-coder-0.5b`` is this plugin's Qwen GGUF dequantised by transformers, so an
adapter nanoflux-peft trains on it fits ``llamacpp:qwen2.5-coder-0.5b`` too: the same
model, served several times faster. llama.cpp reads LoRA adapters as GGUF files, so the
adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``, as PEFT's
``save_pretrained`` writes them) is converted here, with the ``gguf`` package, into
``ADAPTER/llamacpp-lora.gguf``:

- ``model.layers.{i}.{self_attn,mlp}.{q,k,v,o,gate,up,down}_proj`` become
  ``blk.{i}.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}.weight``, each as
  ``.lora_a`` (r × n_in) and ``.lora_b`` (n_out × r), f32;
- the llama architecture stores the rows of ``attn_q`` and ``attn_k`` permuted (llama.cpp's
  converter interleaves each head's two rotary halves), so the rows of their ``lora_b``
  get the same permutation; qwen2 stores them as they are;
- PEFT scales ``B·A`` by ``lora_alpha / r`` (``/ sqrt(r)`` with ``use_rslora``) and llama.cpp
  by ``adapter.lora.alpha / r``: the file's alpha is the one that gives PEFT's scale.

What cannot be converted faithfully is refused in one line naming the file: DoRA,
modules with no GGUF counterpart (embeddings, ``lm_head``, ``modules_to_save``),
per-module ranks or alphas, another architecture, tensors that do not fit the base's
shapes, and an adapter whose ``base_model_name_or_path`` names a GGUF folder on this
machine that does not hold the base. The GGUF records a digest of what it was made
from (the adapter's two files, the converter and the base's head counts), so it is
converted again only when the adapter changed; it is written atomically, a link at its
name replaced rather than written through, and under ``NANOFLUX_HOME/lora`` when the
adapter folder is read-only.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanoflux.errors import ConfigError, NanofluxError, clip, clip_path
from nanoflux.paths import home, home_folder
from nanoflux.storage import write_atomic

from . import gguf as gguf_files
from .gguf_header import GgufHeader, mapped, read_header

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
GGUF_FILE = "llamacpp-lora.gguf"
FALLBACK = "lora"  # under NANOFLUX_HOME, for adapters in a read-only folder
DIGEST_KEY = "nanoflux.lora.digest"
#: raised when the conversion changes, so files written by an older one are made again
CONVERTER = 1

#: PEFT's module name -> the GGUF tensor it adapts, ``blk.{i}.<name>.weight``
MODULES = {
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}
#: architectures whose tensors above are known; True where q/k rows are stored permuted
ARCHITECTURES = {"llama": True, "qwen2": False}
PEFT_TENSOR = re.compile(
    r"base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight"
)
SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2"}


@dataclass(frozen=True)
class LoraFile:
    """A PEFT adapter folder and the GGUF llama.cpp reads for it."""

    folder: Path
    path: Path
    digest: str  # of what the GGUF was made from: a changed adapter is another model

    def describe(self) -> dict[str, Any]:
        return {"adapter": str(self.folder), "gguf": str(self.path), "digest": self.digest}


def base_rest(rest: str) -> str:
    """The BASE of ``BASE+ADAPTER``, by nanoflux-peft's rule: the last ``+`` splits,
    unless the whole text is a path that exists (a file may have a ``+`` in its name).
    A rest that names no adapter is returned as it is."""
    if "+" not in rest or Path(rest).expanduser().exists():
        return rest
    return rest.rpartition("+")[0]


def split_spec(rest: str) -> tuple[str, Path | None]:
    """``BASE+ADAPTER`` -> (BASE, the adapter folder); anything else -> (rest, None)."""
    base = base_rest(rest)
    if base == rest:
        return rest, None
    adapter = Path(rest[len(base) + 1 :]).expanduser()
    if not (adapter / CONFIG_FILE).is_file():
        raise ConfigError(
            f"llamacpp: {clip_path(adapter)} is not a LoRA adapter folder (no {CONFIG_FILE})",
            hint="name the `adapter` folder of a training, as in BASE+/path/to/adapter",
        )
    return base, adapter.resolve()


def resolve_weights(rest: str) -> tuple[Path, LoraFile | None]:
    """The base GGUF a spec's rest names and, for ``BASE+ADAPTER``, its adapter's GGUF."""
    base_rest, adapter = split_spec(rest)
    base = gguf_files.resolve_model(base_rest)
    return base, (None if adapter is None else prepare(adapter, base))


def prepare(folder: Path, base: Path) -> LoraFile:
    """The adapter in ``folder`` as a GGUF llama.cpp applies to ``base``, converted only
    when no GGUF made from the same adapter and base shape is there yet."""
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    config = read_config(config_path)
    if not weights_path.is_file():
        raise ConfigError(
            f"llamacpp: LoRA adapter {clip_path(folder)} has no {WEIGHTS_FILE}",
            hint="save it with PEFT's save_pretrained (safetensors), as nanoflux train does",
        )
    header = read_header(base)
    arch = architecture(header, base)
    check_trained_on(folder, config, base)
    heads = head_counts(header, arch, base)
    digest = hashlib.sha256(f"{CONVERTER}/{arch}/{heads}/".encode())
    for source in (config_path, weights_path):
        digest.update(source.read_bytes())
    key = digest.hexdigest()
    for target in (folder / GGUF_FILE, home() / FALLBACK / f"{key}.gguf"):
        if _converted(target, key):
            return LoraFile(folder, target, key)
    tensors, alpha = convert(weights_path, config, header, arch, heads)
    return LoraFile(folder, _write(folder, key, arch, alpha, tensors), key)


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"llamacpp: cannot read {clip_path(path)}: {clip(str(exc))}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"llamacpp: {clip_path(path)} is not a JSON object")
    refused = refusal(config)
    if refused:
        raise ConfigError(f"llamacpp: {clip_path(path)}: {refused}")
    return config


def refusal(config: dict[str, Any]) -> str | None:
    """Why llama.cpp cannot apply what this adapter config describes; None if it can."""
    if config.get("peft_type", "LORA") != "LORA":
        return f"peft_type {config.get('peft_type')!r}: only LoRA adapters can be converted"
    if config.get("use_dora"):
        return "use_dora is true: llama.cpp applies plain LoRA, not DoRA's magnitude vectors"
    if config.get("modules_to_save"):
        return f"modules_to_save {config['modules_to_save']}: whole modules have no LoRA form"
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        return "rank_pattern/alpha_pattern: llama.cpp applies one rank and alpha per adapter"
    if config.get("lora_bias") or config.get("bias", "none") != "none":
        return "the adapter trains biases, which a llama.cpp LoRA cannot carry"
    if config.get("fan_in_fan_out"):
        return "fan_in_fan_out is true (Conv1D layers): not a model llama.cpp adapts"
    if not isinstance(config.get("r"), int) or config["r"] < 1:
        return f"r {config.get('r')!r} is not a rank"
    alpha = config.get("lora_alpha")
    if not isinstance(alpha, (int, float)) or alpha <= 0:  # llama.cpp reads 0 as "unscaled"
        return f"lora_alpha {alpha!r} is not a positive number"
    return None


def architecture(header: GgufHeader, base: Path) -> str:
    arch = header.metadata.get("general.architecture")
    if arch not in ARCHITECTURES:
        raise ConfigError(
            f"llamacpp: base {clip_path(base)} is a {arch!r} model; LoRA adapters convert "
            f"for {', '.join(ARCHITECTURES)} only",
            hint="use hf:BASE+ADAPTER (nanoflux-peft) for this model",
        )
    return arch


def head_counts(header: GgufHeader, arch: str, base: Path) -> tuple[int, int]:
    n_head = header.integer(f"{arch}.attention.head_count", base)
    kv_key = f"{arch}.attention.head_count_kv"
    return n_head, header.integer(kv_key, base) if kv_key in header.metadata else n_head


def check_trained_on(folder: Path, config: dict[str, Any], base: Path) -> None:
    """Refuse an adapter whose ``base_model_name_or_path`` says it was trained on other
    weights. nanoflux-peft writes there the folder of the GGUF it dequantised; a name
    that is no GGUF or GGUF folder on this machine (a Hub id, another machine's path)
    says nothing here, and the shapes are still checked."""
    source = config.get("base_model_name_or_path")
    if not isinstance(source, str) or not source:
        return
    named = Path(source).expanduser()
    if named.suffix == ".gguf" and named.is_file():
        candidates = [named]
    elif named.is_dir() and not (named / "config.json").is_file():
        candidates = sorted(named.glob("*.gguf"))
    else:
        return
    if not candidates or any(_same_file(base, c) for c in candidates):
        return
    raise ConfigError(
        f"llamacpp: LoRA adapter {clip_path(folder)} was trained on {clip_path(named)} "
        f"(base_model_name_or_path in its {CONFIG_FILE}), not on {clip_path(base)}",
        hint="name the base it was trained on before the +",
    )


def _same_file(base: Path, other: Path) -> bool:
    try:
        other = other.resolve(strict=True)
        if other == base.resolve():
            return True
        if other.stat().st_size != base.stat().st_size:
            return False
        return gguf_files.sha256(other) == gguf_files.sha256(base)
    except OSError:  # a broken link, a file we may not read: not the base
        return False


def convert(
    weights: Path, config: dict[str, Any], header: GgufHeader, arch: str, heads: tuple[int, int]
) -> tuple[dict[str, Any], float]:
    """The adapter's tensors under their GGUF names, fitted to the base, and the alpha
    that makes llama.cpp's ``alpha / r`` PEFT's scale."""
    rank = config["r"]
    pairs = _pairs(weights)
    tensors: dict[str, Any] = {}
    for target, (a, b) in sorted(pairs.items()):
        _check_shapes(weights, target, a, b, rank, header)
        if ARCHITECTURES[arch] and target.endswith((".attn_q.weight", ".attn_k.weight")):
            b = permute_rows(b, heads[0] if ".attn_q." in target else heads[1])
        tensors[f"{target}.lora_a"], tensors[f"{target}.lora_b"] = a, b
    root = math.sqrt(rank) if config.get("use_rslora") else rank
    return tensors, float(config["lora_alpha"]) / root * rank


def _pairs(weights: Path) -> dict[str, tuple[Any, Any]]:
    """(A, B) for each base tensor the adapter adapts; anything else is refused."""
    found: dict[str, dict[str, Any]] = {}
    for name, array in read_safetensors(weights):
        match = PEFT_TENSOR.fullmatch(name)
        if match is None or match[2] not in MODULES:
            raise ConfigError(
                f"llamacpp: {clip_path(weights)}: tensor {clip(name)} adapts a module "
                f"llama.cpp cannot (LoRA on {', '.join(MODULES)} of model.layers only)",
                hint="train with target_modules among those",
            )
        target = f"blk.{int(match[1])}.{MODULES[match[2]]}.weight"
        found.setdefault(target, {})[match[3]] = array
    for target, pair in found.items():
        if len(pair) != 2:
            raise ConfigError(f"llamacpp: {clip_path(weights)}: {target} lacks lora_A or lora_B")
    return {target: (pair["A"], pair["B"]) for target, pair in found.items()}


def _check_shapes(weights: Path, target: str, a, b, rank: int, header: GgufHeader) -> None:
    dims = header.tensors.get(target)  # ggml order: (n_in, n_out)
    if dims is None:
        problem = "the base has no such tensor"
    elif a.shape != (rank, dims[0]) or b.shape != (dims[1], rank):
        problem = (
            f"A {tuple(a.shape)} and B {tuple(b.shape)} do not fit the base's "
            f"{dims[1]}×{dims[0]} at rank {rank}"
        )
    else:
        return
    raise ConfigError(
        f"llamacpp: {clip_path(weights)}: {target}: {problem}",
        hint="was the adapter trained on this base? (name it before the +)",
    )


def permute_rows(b, n_head: int):
    """The row order llama.cpp's converter gives q/k of a llama model (its
    ``LlamaModel.permute``): each head's rows as pairs of the two rotary halves."""
    rows = b.shape[0]
    return b.reshape(n_head, 2, rows // n_head // 2, *b.shape[1:]).swapaxes(1, 2).reshape(b.shape)


def read_safetensors(path: Path) -> Iterator[tuple[str, Any]]:
    """Each tensor of a safetensors file as a float32 array (F32, F16 or BF16)."""
    import numpy as np

    with mapped(path) as data:
        try:
            size = struct.unpack_from("<Q", data)[0]
            header = json.loads(data[8 : 8 + size])
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                dtype = SAFETENSORS_DTYPES.get(info["dtype"])
                if dtype is None:
                    raise ValueError(f"tensor {clip(name)} is {info['dtype']}, not F32/F16/BF16")
                start, end = (8 + size + offset for offset in info["data_offsets"])
                array = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
                if info["dtype"] == "BF16":  # the high half of a float32
                    array = (array.astype(np.uint32) << 16).view(np.float32)
                yield name, np.ascontiguousarray(array, dtype=np.float32)
        except (struct.error, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"llamacpp: cannot read {clip_path(path)}: {exc}") from None


def _converted(target: Path, digest: str) -> bool:
    """Whether ``target`` is a regular file converted from the same inputs (a link
    there is never trusted: it is replaced)."""
    if target.is_symlink() or not target.is_file():
        return False
    try:
        return read_header(target).metadata.get(DIGEST_KEY) == digest
    except ConfigError:
        return False


def _write(folder: Path, digest: str, arch: str, alpha: float, tensors: dict[str, Any]) -> Path:
    """Write the GGUF beside the adapter, or under NANOFLUX_HOME when that folder is
    read-only; returns where it went."""
    import gguf

    with tempfile.TemporaryDirectory(prefix="nanoflux-lora-") as scratch:
        made = Path(scratch) / GGUF_FILE
        writer = gguf.GGUFWriter(made, arch)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        writer.add_string(DIGEST_KEY, digest)
        for name, array in tensors.items():
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        target = folder / GGUF_FILE
        try:
            write_atomic(target, _chunks(made), unique=True)
        except NanofluxError:  # a read-only adapter folder
            target = home_folder(FALLBACK) / f"{digest}.gguf"
            write_atomic(target, _chunks(made), unique=True)
        return target


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(1 << 20), b"")
