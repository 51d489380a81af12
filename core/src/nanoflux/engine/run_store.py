"""The run directory: the only place a run writes, and safe against kill -9.

| file | what | written |
| --- | --- | --- |
| ``config.toml`` | the run's configuration | once, atomically, when the run starts |
| ``candidates.jsonl`` | one ``Candidate`` per attempt: the ledger | a line per commit |
| ``dataset.jsonl`` | one ``Example`` per accepted candidate | after its candidate |
| ``stats.json`` | counts derived from the ledger | atomically, about once a second |
| ``manifest.json`` | versions, models, novelty store, start/resume/end times | atomically |
| ``run.log`` | one line per commit | appended |
| ``run.lock`` | the pid of the process that holds the run | while a process holds it |

``Candidate`` and ``Example`` are the records of :mod:`nanoflux.records`. Schema:
candidate lines carry ``schema_version`` (``nanoflux.records.CANDIDATE_SCHEMA``);
unversioned lines are version 1 and still read. ``manifest.json`` records the version
last written as ``store_schema``. A line of a newer version than this NanoFlux knows is
refused, never half-read.

Write order for an accepted example: its candidate line (which carries the whole
example) is appended and fsynced first, then the dataset line, then the novelty
store. Any of these can be cut short by a kill or a full disk (an append that fails is
cut back off its file, and the error names the file); :meth:`RunStore.recover`
repairs the files on resume: a torn last line is dropped, an accepted candidate
missing from the end of dataset.jsonl is appended, an example past the last accepted
candidate (whose own line was cut off) is dropped, and nothing is ever written twice. A torn line is
the beginning of a JSON object (:func:`cut_short`); a last line of anything else is
damage like any other. Damage it cannot repair (a line missing or changed in the
middle, counts that disagree, a file that is not what it should be) is refused with
one line naming the file and line, and nothing is changed. Readers (export, report)
skip a torn last line, since a run may be writing it, and refuse damage alike.

Export and report do not read ``manifest.json`` (it records provenance, not data): a
damaged one does not stop them. A resume extends it, and refuses a damaged one
before anything else is done.

No file is written through a symbolic link (see :mod:`nanoflux.storage`), and a run
directory whose own files are links is refused.

One process at a time: :meth:`RunStore.lock` takes an exclusive ``flock`` on
``run.lock`` for the life of the run; the kernel releases it when the process dies,
however it dies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..errors import DataFormatError, UsageError
from ..inputs import decode_line, describe, iter_lines, load_json, located, parse_json
from ..records import CANDIDATE_SCHEMA, Candidate, Example
from ..storage import (
    append,
    cut_short,
    hold_exclusive,
    last_line,
    refuse_links,
    temporary_path,
    truncate,
    write_atomic,
)

if TYPE_CHECKING:
    from ..config import RunConfig

CONFIG = "config.toml"
MANIFEST = "manifest.json"
CANDIDATES = "candidates.jsonl"
DATASET = "dataset.jsonl"
STATS = "stats.json"
LOG = "run.log"
LOCK = "run.lock"

#: every file a run writes; nothing else may write them (export refuses to)
RUN_FILES = (CONFIG, MANIFEST, CANDIDATES, DATASET, STATS, LOG, LOCK)

R = TypeVar("R", bound=BaseModel)


def encode_line(record: dict[str, Any]) -> bytes:
    """One JSON line, valid UTF-8 whatever a model or program put in its strings."""
    line = json.dumps(record, ensure_ascii=False) + "\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from a model reply or a tool's result) cannot be UTF-8:
        # it becomes U+FFFD rather than failing the commit of the whole round.
        return line.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode("utf-8")


def _mend_tail(path: Path) -> int:
    """Drop a last line cut short by a kill (returns the bytes cut); give a whole last
    line the newline it lacks. Call it only after the file was read without error."""
    keep, tail = last_line(path)
    if not tail:
        return 0
    if cut_short(tail):
        truncate(path, keep)
        return len(tail)
    append(path, b"\n", durable=True)
    return 0


def _line_start(path: Path, number: int) -> int:
    """The byte offset where line ``number`` (from 1) of ``path`` begins."""
    offset = 0
    for at, raw in iter_lines(path):
        if at == number:
            break
        offset += len(raw)
    return offset


def _validate(where: str, data: Any, model: type[R]) -> R:
    if not isinstance(data, dict):
        raise DataFormatError(f"{where}: expected a JSON object, found {type(data).__name__}")
    with located(where):
        return model.model_validate(data)


def read_objects(path: Path, *, torn_tail: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each line of a JSONL file NanoFlux appends to; nothing
    when it does not exist; damage is one error naming file and line. A last line that a
    kill cut short (see :func:`cut_short`) is skipped: :meth:`RunStore.recover` drops it
    on resume. ``torn_tail=False`` reads such a line too, for files people write by hand."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"{path}: {describe(exc)}") from None
    for number, raw in iter_lines(path):
        if torn_tail and not raw.endswith(b"\n") and cut_short(raw):
            return
        where = f"{path}:{number}"
        line = decode_line(raw, where, first=number == 1)
        if line.strip():
            data = parse_json(line, where)
            if not isinstance(data, dict):
                kind = type(data).__name__
                raise DataFormatError(f"{where}: expected a JSON object, found {kind}")
            yield number, data


def read_records(path: Path, model: type[R], *, torn_tail: bool = True) -> Iterator[tuple[int, R]]:
    """(line number, record) for each line of a run's JSONL file (see :func:`read_objects`)."""
    for number, data in read_objects(path, torn_tail=torn_tail):
        yield number, _validate(f"{path}:{number}", data, model)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON file that must hold one object; None when it does not exist."""
    if not path.exists() and not path.is_symlink():
        return None
    data = load_json(path)
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


class _Derived(BaseModel):
    """The fields of stats.json and manifest.json that NanoFlux reads back; a run
    directory from a newer NanoFlux may hold more."""

    model_config = ConfigDict(extra="allow")


class StatsFile(_Derived):
    attempts: int | None = None
    accepted: int | None = None
    target: int | None = None
    seconds: float | None = None
    stopped_because: str | None = None


class ManifestFile(_Derived):
    run_id: str | None = None
    started_at: str | None = None
    resumed_at: list[str] = Field(default_factory=list)
    store_schema: int | None = None


class RunStore:
    """Typed reads and appends of one run directory."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock_fd: int | None = None

    @property
    def candidates_path(self) -> Path:
        return self.root / CANDIDATES

    @property
    def dataset_path(self) -> Path:
        return self.root / DATASET

    # -- what the directory is --------------------------------------------------------

    def is_run(self) -> bool:
        return (self.root / CONFIG).is_file()

    def _holds_records(self) -> bool:
        return any(
            (self.root / name).is_file() and (self.root / name).stat().st_size > 0
            for name in (CANDIDATES, DATASET)
        )

    def _foreign(self) -> list[str]:
        """Entries that are not a run's own files (nor their temporary copies)."""
        own = set(RUN_FILES) | {temporary_path(self.root / name).name for name in RUN_FILES}
        return sorted(p.name for p in self.root.iterdir() if p.name not in own)

    def is_unstarted(self) -> bool:
        """A run directory killed before its first commit: only its own files, no records."""
        return self.root.is_dir() and not self._foreign() and not self._holds_records()

    def require_run(self) -> None:
        """Refuse, in one line, a directory that is not a run (for resume, export, report),
        or one whose own files are links (to files elsewhere, which it would write)."""
        if self.root.is_dir():
            refuse_links(self.root, RUN_FILES)
        if self.is_run():
            return
        if self.is_unstarted() and any(self.root.iterdir()):
            raise UsageError(
                f"{self.root} holds no run yet (it was stopped before its configuration "
                "was written)",
                hint=f"start it again with nanoflux run --config ... --out {self.root}",
            )
        raise UsageError(f"{self.root} is not a run directory (no {CONFIG})")

    # -- one process at a time ----------------------------------------------------------

    def lock(self) -> None:
        """Hold ``run.lock`` exclusively until :meth:`unlock` or the process ends."""
        self._lock_fd = hold_exclusive(self.root / LOCK, f"run directory {self.root}")

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the last descriptor releases the flock
            self._lock_fd = None

    # -- starting ---------------------------------------------------------------------

    def require_startable(self) -> None:
        """A new run may start here: nothing there, or a run killed before its first commit."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"run directory {self.root} is a file")
        if self.root.is_dir() and not self.is_unstarted():
            raise UsageError(
                f"run directory {self.root} is not empty",
                hint=f"continue it with --resume {self.root}, or choose another --out",
            )

    def create(self, config_text: str) -> None:
        """Start a new run here, with this config.toml; call it holding the lock."""
        self.require_startable()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for name in RUN_FILES:
                # what a run killed before its first commit left behind
                if name != LOCK:
                    (self.root / name).unlink(missing_ok=True)
                    temporary_path(self.root / name).unlink(missing_ok=True)
            write_atomic(self.root / CONFIG, config_text)
        except OSError as exc:
            raise UsageError(
                f"run directory {self.root} cannot be written: {exc.strerror or exc}"
            ) from None

    # -- records ----------------------------------------------------------------------

    def append_candidate(self, candidate: Candidate) -> None:
        # All of the line or none of it (a full disk), never through a link; fsync is
        # for power loss, paid only where losing the line loses data.
        append(self.candidates_path, encode_line(candidate.as_dict()), durable=candidate.accepted)

    def append_example(self, example: Example) -> None:
        # Not fsynced: the candidate line written before it carries the same example
        # durably, and recover() restores a dataset line lost to a power cut.
        append(self.dataset_path, encode_line(example.as_dict()))

    def numbered_candidates(self) -> Iterator[tuple[int, Candidate]]:
        """(line number, candidate); a line of a newer schema than this NanoFlux is refused."""
        for number, candidate in read_records(self.candidates_path, Candidate):
            if candidate.schema_version > CANDIDATE_SCHEMA:
                raise DataFormatError(
                    f"{self.candidates_path}:{number}: schema_version "
                    f"{candidate.schema_version} is newer than this NanoFlux reads "
                    f"({CANDIDATE_SCHEMA})",
                    hint="upgrade nanoflux",
                )
            yield number, candidate

    def candidates(self) -> Iterator[Candidate]:
        for _, candidate in self.numbered_candidates():
            yield candidate

    def numbered_examples(self) -> Iterator[tuple[int, Example]]:
        """(line number, example) of dataset.jsonl."""
        return read_records(self.dataset_path, Example)

    def examples(self) -> Iterator[Example]:
        for _, example in self.numbered_examples():
            yield example

    @property
    def stats_path(self) -> Path:
        return self.root / STATS

    # -- derived files --------------------------------------------------------------

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        write_atomic(self.root / name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read_json(self, name: str) -> dict[str, Any]:
        """A JSON object file of the run; empty when absent, one clear line when damaged."""
        data = read_json_object(self.root / name)
        return {} if data is None else data

    def _checked(self, name: str, model: type[_Derived]) -> dict[str, Any]:
        data = self.read_json(name)
        _validate(str(self.root / name), data, model)
        return data

    def stats(self) -> dict[str, Any]:
        """stats.json, its counts and clock checked (it may lag the ledger by a second)."""
        return self._checked(STATS, StatsFile)

    def manifest(self) -> dict[str, Any]:
        """manifest.json, the fields a resume extends checked."""
        return self._checked(MANIFEST, ManifestFile)

    def config(self) -> RunConfig:
        """config.toml as the run's configuration; one line naming file and field if not."""
        from ..config import load_config

        return load_config(self.root / CONFIG, check_out=False)

    # -- after a crash --------------------------------------------------------------

    def recover(self) -> dict[str, int]:
        """Repair what a kill or a full disk leaves and check the rest; returns what was
        done, for the log.

        Repaired: a last line cut short in either file (dropped), a whole last line
        without its newline (completed), accepted examples missing from the end of
        dataset.jsonl (restored from their candidate lines), one example at its end whose
        candidate line was cut off (dropped: candidates.jsonl is the ledger). Refused,
        naming file and line, with nothing changed: any other damage, and files that
        disagree.
        """
        from .continuity import check_continuity

        # Check everything before changing anything: a refused run is left as it was.
        self.manifest()  # a resume extends it
        repair = check_continuity(self)
        report = {"torn_candidate_bytes": _mend_tail(self.candidates_path)}
        report["orphans_dropped"] = 0
        if repair.orphan_line is not None:
            truncate(self.dataset_path, _line_start(self.dataset_path, repair.orphan_line))
            report["orphans_dropped"] = 1
        report["torn_dataset_bytes"] = _mend_tail(self.dataset_path)
        report["examples_restored"] = 0
        for example in repair.missing:
            self.append_example(example)
            report["examples_restored"] += 1
        return report
