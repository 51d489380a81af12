"""The ``llama-server`` that ``llamacpp-server:`` runs: built once, cached like the wheel.

llama.cpp's own server (continuous batching over ``--parallel`` slots, a prompt cache)
is not in the llama-cpp-python wheel, but its sources are in the pinned sdist
(``vendor/llama.cpp/tools/server``), and the portable wheel installs every library the
server links to: ``libllama``, ``libllama-common``, ``libmtmd`` and ``libggml*``, built
from those same sources. ``server_build/CMakeLists.txt`` therefore compiles only the
server's own files (about 20, a few minutes on 2 cores) and links them against the
installed libraries: no ggml code is compiled, so nothing here can be ``-march=native``.
At run time the server gets its CPU kernels exactly as the in-process backend does: the
``libggml-cpu-<variant>.so`` that :func:`nanoflux_llamacpp.build.choose` picks (AMX
variants skipped, ``NANOFLUX_GGML_CPU`` honoured), through ggml's ``GGML_BACKEND_PATH``.

The cache key is the llama-cpp-python version, the wheel's cmake flags, this recipe,
and the Python tag and machine (the wheel's own key): ``python -m
nanoflux_llamacpp.server_binary build`` (what ``scripts/setup.sh`` runs) builds into
``~/.cache/nanoflux/llama-server/<key>/`` once, with a ``build.json`` beside the binary.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from nanoflux.errors import NanofluxError, NotAvailableError, clip_path
from nanoflux.machine import available_cpus

from . import build

CACHE_VARIABLE = "NANOFLUX_SERVER_CACHE"
SDIST_VARIABLE = "NANOFLUX_LLAMA_SDIST"
RECIPE = Path(__file__).with_name("server_build") / "CMakeLists.txt"
NAME = "llama-server"
BUILD_HINT = "scripts/setup.sh builds it once (python -m nanoflux_llamacpp.server_binary build)"
#: what the server build reads from the sdist's vendor/llama.cpp (not ggml's sources)
SOURCES = (
    "include/",
    "ggml/include/",
    "common/",
    "vendor/",
    "cmake/",
    "scripts/ui-assets.cmake",
    "tools/server/",
    "tools/ui/",
    "tools/mtmd/",
)


@dataclass(frozen=True)
class ServerBinary:
    path: Path
    record: dict[str, Any]


def cache_root() -> Path:
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nanoflux" / "llama-server"


def wheel_prefix() -> Path | None:
    """Where the wheel put ``lib/libllama-common.so`` (site-packages, for a venv)."""
    try:
        files = metadata.distribution("llama-cpp-python").files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "libllama-common.so" and file.parent.name == "lib":
            return Path(file.locate()).resolve().parent.parent
    return None


def cache_key() -> str | None:
    """The cache folder's name for the installed wheel; None without a build record."""
    record = build.read_record()
    if record is None:
        return None
    flags = f"{record.get('cmake_args', '')}\n{RECIPE.read_text()}"
    digest = hashlib.sha256(flags.encode()).hexdigest()[:12]
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}"
    return f"{NAME}-{record.get('llama_cpp_python')}-{tag}-{digest}"


def find() -> ServerBinary | None:
    key = cache_key()
    folder = cache_root() / key if key else None
    if folder is None or not (folder / NAME).is_file():
        return None
    try:
        record = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        return None
    return ServerBinary(folder / NAME, record)


def require() -> ServerBinary:
    found = find()
    if found is None:
        key = cache_key()
        where = clip_path(cache_root() / key) if key else "(no portable wheel build record)"
        raise NotAvailableError(
            f"llama-server is not built for this llama.cpp: {where}", hint=BUILD_HINT
        )
    return found


def environment() -> tuple[dict[str, str], str | None]:
    """What the server process needs on top of ours: the wheel's libraries on the loader's
    path, and the one CPU variant this process would load (None for a linked-in build).
    Returns the environment and that variant's name."""
    prefix = wheel_prefix()
    if prefix is None:
        raise NotAvailableError("llama-cpp-python's libraries are not installed", hint=BUILD_HINT)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(prefix / "lib"), os.environ.get("LD_LIBRARY_PATH", "")) if p
    )
    candidates = build.variants()
    if not candidates:
        return env, None
    chosen = build.choose(candidates)
    env["GGML_BACKEND_PATH"] = str(chosen.path)
    return env, chosen.name


# -- building ------------------------------------------------------------------------------


def _run(command: list[str], log: Path, stage: str, cwd: Path | None = None) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    if done.returncode != 0:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines
        raise NanofluxError(
            f"building llama-server failed at {stage} (exit {done.returncode}): "
            f"{errors[-1].strip() if errors else '(no output)'}",
            hint=f"the whole log: {clip_path(log)}",
        )


def fetch_sdist(version: str, into: Path, log: Path) -> Path:
    """The llama-cpp-python sdist: ``NANOFLUX_LLAMA_SDIST`` if set, else from the index."""
    given = os.environ.get(SDIST_VARIABLE)
    if given:
        return Path(given).expanduser()
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q"]
    command += ["--no-deps", "--no-binary", ":all:", "-d", str(into)]
    _run([*command, f"llama-cpp-python=={version}"], log, "pip download (the sdist)")
    return next(into.glob("llama_cpp_python-*.tar.gz"))


def extract_sources(sdist: Path, into: Path) -> Path:
    """vendor/llama.cpp's parts the server build reads; returns that folder."""
    with tarfile.open(sdist) as archive:
        wanted = []
        root = None
        for member in archive.getmembers():
            top, _, rest = member.name.partition("/vendor/llama.cpp/")
            if rest and rest.startswith(SOURCES):
                wanted.append(member)
                root = top
        if root is None:
            raise NanofluxError(f"{clip_path(sdist)} has no vendor/llama.cpp sources")
        archive.extractall(into, members=wanted, filter="data")
    return into / root / "vendor" / "llama.cpp"


def compile_server(source: Path, prefix: Path, work: Path, log: Path) -> Path:
    """Configure and build the ``llama-server`` target; returns the binary."""
    cmake = shutil.which("cmake")
    if cmake is None:
        raise NotAvailableError("building llama-server needs cmake", hint="apt-get install cmake")
    # match how the wheel built cpp-httplib into libllama-common, which the server shares
    openssl = b"libssl.so" in (prefix / "lib" / "libllama-common.so").read_bytes()
    configure = [cmake, "-S", str(RECIPE.parent), "-B", str(work), "-DCMAKE_BUILD_TYPE=Release"]
    configure += [f"-DLLAMA_SOURCE={source}", f"-DLLAMA_PREFIX={prefix}"]
    # no RUNPATH into this venv: the cached binary serves any venv with the same wheel
    configure += [f"-DLLAMA_OPENSSL={'ON' if openssl else 'OFF'}", "-DCMAKE_SKIP_RPATH=ON"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    _run(configure, log, "cmake (configure)")
    jobs = str(available_cpus())
    _run([cmake, "--build", str(work), "--target", NAME, "-j", jobs], log, "cmake --build")
    return work / "tools" / "server" / NAME


def build_server(say: Callable[[str], None] = print) -> ServerBinary:
    """Build, check and cache the server for the installed wheel (once)."""
    key, prefix = cache_key(), wheel_prefix()
    record = build.read_record()
    if key is None or prefix is None or record is None:
        raise NotAvailableError(
            "llama-server is built against the portable llama-cpp-python wheel, and this "
            "environment has none with a build record",
            hint="run scripts/setup.sh",
        )
    target = cache_root() / key
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    log = partial / "build.log"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nanoflux-llama-server-") as scratch:
        work = Path(scratch)
        say(f"llama-server: building it once against {prefix / 'lib'}, about 3 minutes on 2 cores")
        sdist = fetch_sdist(record["llama_cpp_python"], work, log)
        binary = compile_server(extract_sources(sdist, work / "src"), prefix, work / "build", log)
        shutil.copy2(binary, partial / NAME)
    seconds = round(time.monotonic() - started)
    built = {
        "llama_cpp_python": record["llama_cpp_python"],
        "wheel_cmake_args": record.get("cmake_args"),
        "wheel_sha256": record.get("wheel_sha256"),
        "recipe_sha256": hashlib.sha256(RECIPE.read_bytes()).hexdigest(),
        "binary_sha256": hashlib.sha256((partial / NAME).read_bytes()).hexdigest(),
        "built": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "build_seconds": seconds,
    }
    (partial / "build.json").write_text(json.dumps(built, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    say(f"llama-server: built in {seconds} s: {target / NAME}")
    return ServerBinary(target / NAME, built)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nanoflux_llamacpp.server_binary")
    parser.add_argument("command", choices=["build", "path"])
    parser.add_argument("--force", action="store_true", help="build even when cached")
    args = parser.parse_args(argv)
    try:
        found = find()
        if args.command == "path":
            print(require().path)
        elif found is None or args.force:
            build_server(say=lambda line: print(line, file=sys.stderr, flush=True))
        else:
            print(f"llama-server: cached ({found.path})")
    except NanofluxError as exc:
        sys.exit(f"error: {exc.one_line()}")


if __name__ == "__main__":
    main()
