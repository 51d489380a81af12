"""The llama.cpp build this process runs, and the CPU kernels it uses.

A default ``pip install llama-cpp-python`` compiles with ``-march=native``: the wheel
works on the machine that built it and nowhere else, and on one AVX512/AMX machine it
crashed in the first decode. ``scripts/setup.sh`` therefore builds it portably, with
llama.cpp's runtime dispatch (``GGML_BACKEND_DL`` + ``GGML_CPU_ALL_VARIANTS``): one
``libggml-cpu-<variant>.so`` per x86-64 feature level, and writes a build record
(flags, variants, version) that this module reads and ``nanoflux doctor`` shows.

llama-cpp-python 0.3.36 never loads those variant libraries (abetlen/llama-cpp-python
#2069), so :func:`load_cpu_backend` does, through ggml's own ``ggml_backend_load``,
before the first model is opened. We pick the variant ourselves instead of calling
``ggml_backend_load_all``: that one always takes the highest score, and the highest on
a Sapphire Rapids CPU is the AMX variant, the kind of build that crashed. By default
AMX variants are skipped; ``NANOFLUX_GGML_CPU=<variant>`` picks one by name (``auto``
is the default rule), e.g. ``sapphirerapids`` to allow AMX or ``x64`` for the plainest.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from nanoflux.errors import ConfigError

VARIANT_VARIABLE = "NANOFLUX_GGML_CPU"
#: the build record setup.sh writes into the virtual environment
RECORD_RELATIVE = Path("share") / "nanoflux" / "llama-cpp-build.json"
#: variants compiled with AMX (ggml's x86 variant table); their features say so as well
AMX_VARIANTS = {"sapphirerapids"}
CRASH_HINT = (
    f"rerun scripts/setup.sh (portable build), or set {VARIANT_VARIABLE} to a lower "
    "CPU variant (e.g. haswell or x64) and run nanoflux doctor again"
)


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    score: int  # ggml's own: 0 = this CPU lacks an instruction the variant uses
    amx: bool


_loaded: dict[str, Any] = {}
_lock = threading.Lock()


def variant_paths() -> dict[str, Path]:
    """The installed ``libggml-cpu-<variant>.so`` files, by variant name.

    llama-cpp-python's wheel installs them outside its package (in ``site-packages/bin``,
    where scikit-build puts runtime libraries), so they are found through the
    distribution's file list rather than next to ``llama_cpp/lib``.
    """
    try:
        files = metadata.distribution("llama-cpp-python").files or []
    except metadata.PackageNotFoundError:
        return {}
    prefix = "libggml-cpu-"
    found = {}
    for file in files:
        if file.name.startswith(prefix) and file.name.endswith(".so"):
            path = Path(file.locate()).resolve()
            if path.is_file():
                found[file.name[len(prefix) : -len(".so")]] = path
    return dict(sorted(found.items()))


def variants() -> list[Variant]:
    """Every CPU variant library with its score on this CPU, best first.

    ``ggml_backend_score`` only reads cpuid, so calling it in a variant this CPU cannot
    run is safe (ggml's own loader does the same).
    """
    import llama_cpp.llama_cpp  # noqa: F401 - maps libggml-base, which the variants link to

    found = []
    for name, path in variant_paths().items():
        library = ctypes.CDLL(str(path))
        score_fn = getattr(library, "ggml_backend_score", None)
        score = 0
        if score_fn is not None:
            score_fn.restype = ctypes.c_int
            score = int(score_fn())
        found.append(Variant(name, path, score, name in AMX_VARIANTS or "amx" in name))
    return sorted(found, key=lambda v: -v.score)


def choose(candidates: list[Variant], wanted: str | None = None) -> Variant:
    """The variant to load: the one named in NANOFLUX_GGML_CPU, else the best non-AMX."""
    wanted = (wanted if wanted is not None else os.environ.get(VARIANT_VARIABLE, "")).strip()
    names = ", ".join(v.name for v in candidates if v.score > 0)
    if wanted and wanted != "auto":
        for variant in candidates:
            if variant.name == wanted:
                if variant.score <= 0:
                    raise ConfigError(
                        f"{VARIANT_VARIABLE}={wanted}: this CPU cannot run that variant",
                        hint=f"variants this CPU runs: {names}",
                    )
                return variant
        raise ConfigError(
            f"{VARIANT_VARIABLE}={wanted}: no such llama.cpp CPU variant",
            hint=f"variants this CPU runs: {names}",
        )
    usable = [v for v in candidates if v.score > 0 and not v.amx]
    if not usable:
        raise ConfigError(
            "llama.cpp has no CPU variant this processor can run",
            hint=f"found: {', '.join(v.name for v in candidates) or 'none'}; {CRASH_HINT}",
        )
    return usable[0]


def load_cpu_backend() -> str | None:
    """Register the chosen CPU variant with ggml, once per process; returns its name.

    None for a build without variant libraries (its CPU code is linked in).
    """
    with _lock:
        if "variant" in _loaded:
            return _loaded["variant"]
        candidates = variants()
        if not candidates:
            _loaded["variant"] = None
            return None
        chosen = choose(candidates)
        load = registry_library().ggml_backend_load
        load.argtypes = [ctypes.c_char_p]
        load.restype = ctypes.c_void_p
        from llama_cpp._logger import logger

        quiet, logger.level = logger.level, logging.ERROR  # no "loaded CPU backend" line
        try:
            handle = load(str(chosen.path).encode())
        finally:
            logger.setLevel(quiet)
        if not handle:
            raise ConfigError(
                f"llama.cpp could not load its CPU backend {chosen.path.name}",
                hint=CRASH_HINT,
            )
        _loaded["variant"] = chosen.name
        _loaded["candidates"] = candidates
        return chosen.name


def registry_library() -> ctypes.CDLL:
    """The libggml that libllama itself uses: ggml's backend registry lives in it.

    The wheel holds ``libggml.so`` and ``libggml.so.0`` as two copies of one file, and
    ``llama_cpp._ggml`` opens the first by path, which loads a second registry that
    libllama never reads ("no backends are loaded"). Opened by soname with
    RTLD_NOLOAD, we get the copy already mapped for libllama.
    """
    import llama_cpp.llama_cpp  # noqa: F401 - maps libllama and, through it, libggml.so.0

    try:
        return ctypes.CDLL("libggml.so.0", mode=os.RTLD_NOLOAD)
    except OSError as exc:
        raise ConfigError(
            f"cannot find the libggml that llama_cpp loaded: {exc}", hint=CRASH_HINT
        ) from None


def record_path() -> Path:
    return Path(sys.prefix) / RECORD_RELATIVE


def read_record() -> dict[str, Any] | None:
    try:
        return json.loads(record_path().read_text())
    except (OSError, ValueError):
        return None


def installed_wheel_sha256() -> str | None:
    """The sha256 pip recorded for the wheel file it installed llama-cpp-python from."""
    try:
        text = metadata.distribution("llama-cpp-python").read_text("direct_url.json")
        archive = json.loads(text or "{}").get("archive_info", {})
    except (metadata.PackageNotFoundError, ValueError, AttributeError):
        return None
    digest = archive.get("hashes", {}).get("sha256") or archive.get("hash", "")
    return digest.removeprefix("sha256=") or None


def build_problem(
    record: dict[str, Any] | None,
    installed: str,
    names: list[str],
    wheel_sha256: str | None = None,
) -> str | None:
    """Why the installed llama-cpp-python is not known to be portable, or None."""
    if record is None:
        return (
            f"no build record at {record_path()}: llama-cpp-python {installed} was not built "
            "by scripts/setup.sh and may be a -march=native build that crashes on other CPUs"
        )
    if record.get("llama_cpp_python") != installed:
        return (
            f"the build record is for llama-cpp-python {record.get('llama_cpp_python')}, "
            f"but {installed} is installed"
        )
    if wheel_sha256 != record.get("wheel_sha256"):
        return (
            "the installed llama-cpp-python is not the wheel the build record describes "
            "(reinstalled by pip? pip's default build is -march=native)"
        )
    if record.get("native", True):
        return "llama-cpp-python was built with GGML_NATIVE=ON (-march=native): not portable"
    if record.get("backend_dl") and not names:
        return "the build record lists CPU variants, but none are installed with llama_cpp"
    return None


def describe(in_use: str | None = None) -> dict[str, Any]:
    """The build, for the manifest and ``nanoflux doctor``: flags, variants, the one in use
    (``in_use`` names it for another process, a llama-server, that loaded it)."""
    try:
        installed = metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        installed = None
    record = read_record()
    names = list(variant_paths())
    problem = build_problem(record, installed or "(not installed)", names, installed_wheel_sha256())
    in_use = in_use or _loaded.get("variant")
    if names:
        summary = f"runtime CPU dispatch, {len(names)} variants, using {in_use or '(none yet)'}"
    else:
        summary = "one CPU code path, linked in"
    if record:
        summary += f"; cmake {record.get('cmake_args', '?')}"
    return {
        "llama_cpp_python": installed,
        "portable": problem is None,
        "problem": problem,
        "summary": summary,
        "variant": in_use,
        "variants": names,
        "record": record,
        "crash_hint": CRASH_HINT,
    }
