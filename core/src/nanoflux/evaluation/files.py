"""An evaluation's folder, written as it goes so a killed evaluation resumes.

| file | what | written |
| --- | --- | --- |
| ``started.json`` | what is measured: model, benchmark, protocol, options, items | first |
| ``items.partial.jsonl`` | an ItemResult per answered item, as they finish | fsynced per item |
| ``items.jsonl`` | every ItemResult, in benchmark order | atomically, at the end |
| ``summary.json`` | the ModelEval | atomically, at the end, last |
| ``eval.lock`` | the pid of the process writing the folder | while it writes |

Running the same evaluation into the same folder again picks up the answered items and
asks only the rest; a folder that measured something else (another model, protocol,
option or item list) is refused with the difference named. A finished folder is read,
not asked again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from ..errors import DataFormatError, UsageError
from ..records import Record
from ..secrets import scrub
from ..storage import cut_short, hold_exclusive, write_atomic
from .protocols import Protocol
from .records import Comparison, ItemResult, ModelEval

SUMMARY_FILE = "summary.json"
ITEMS_FILE = "items.jsonl"
PARTIAL_FILE = "items.partial.jsonl"
STARTED_FILE = "started.json"
LOCK_FILE = "eval.lock"


class EvalIdentity(Record):
    """What an evaluation measures: two folders with equal identities hold the same number."""

    model: str
    benchmark: str
    protocol: Protocol
    options: dict[str, Any] = Field(default_factory=dict)
    item_ids: list[str]

    def differences(self, there: EvalIdentity) -> list[str]:
        """What differs, as ``key: NOW now, THERE there``; the exemplar file's path is not
        a difference (see :meth:`Protocol.differences`)."""
        now_fields = {k: getattr(self, k) for k in ("model", "benchmark", "options")}
        there_fields = {k: getattr(there, k) for k in ("model", "benchmark", "options")}
        for name, value in self.protocol.model_dump(exclude={"exemplars"}).items():
            now_fields[f"protocol {name}"] = value
            there_fields[f"protocol {name}"] = getattr(there.protocol, name)
        found = [
            f"{key}: {now_fields[key]!r} now, {there_fields[key]!r} there"
            for key in now_fields
            if now_fields[key] != there_fields[key]
        ]
        if self.item_ids != there.item_ids:
            found.append(f"items: {len(self.item_ids)} now, {len(there.item_ids)} there")
        return found


def write_eval(folder: Path, summary: ModelEval, items: list[ItemResult]) -> None:
    """``items.jsonl`` then ``summary.json`` in ``folder``, each replaced atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / ITEMS_FILE, "".join(item.model_dump_json() + "\n" for item in items))
    write_atomic(folder / SUMMARY_FILE, summary.model_dump_json(indent=2) + "\n")


def read_eval(folder: Path) -> tuple[ModelEval, list[ItemResult]] | None:
    """A finished evaluation in ``folder``, or None when there is none."""
    summary_path, items_path = folder / SUMMARY_FILE, folder / ITEMS_FILE
    if not (summary_path.is_file() and items_path.is_file()):
        return None
    try:
        summary = ModelEval.model_validate_json(summary_path.read_text("utf-8"))
        items = [
            ItemResult.model_validate_json(line)
            for line in items_path.read_text("utf-8").splitlines()
            if line.strip()
        ]
    except (ValidationError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{folder}: not an evaluation NanoFlux can read: {exc}") from None
    return summary, items


class EvalFolder:
    """The folder one evaluation writes; see the module's table.

    ``open`` locks it and returns the items already answered there; ``record`` appends
    one more; ``finish`` writes the result and releases the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        #: the result already in the folder, when :meth:`open` found a finished one
        self.finished: tuple[ModelEval, list[ItemResult]] | None = None
        self._lock_fd: int | None = None

    def open(self, identity: EvalIdentity) -> dict[str, ItemResult]:
        identity = EvalIdentity.model_validate(scrub(identity.model_dump(mode="json")))
        self._lock_fd = hold_exclusive(self.folder / LOCK_FILE, f"evaluation {self.folder}")
        try:
            return self._answered(identity)
        except BaseException:
            self.close()
            raise

    def _answered(self, identity: EvalIdentity) -> dict[str, ItemResult]:
        started = self.folder / STARTED_FILE
        finished = read_eval(self.folder)
        if not started.is_file():
            if finished is not None or (self.folder / PARTIAL_FILE).exists():
                raise UsageError(
                    f"{self.folder} holds an evaluation without {STARTED_FILE} "
                    "(written by an older NanoFlux)",
                    hint="choose another --out",
                )
            write_atomic(started, identity.model_dump_json(indent=2) + "\n")
            return {}
        try:
            earlier = EvalIdentity.model_validate_json(started.read_text("utf-8"))
        except (ValidationError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"{started}: not an evaluation's {STARTED_FILE}: {exc}") from None
        differences = identity.differences(earlier)
        if differences:
            raise UsageError(
                f"{self.folder} holds another evaluation ({'; '.join(differences)})",
                hint="choose another --out, or repeat that evaluation's command to resume it",
            )
        if finished is not None:
            self.finished = finished
            return {result.id: result for result in finished[1]}
        return self._read_partial()

    def _read_partial(self) -> dict[str, ItemResult]:
        path = self.folder / PARTIAL_FILE
        if not path.is_file():
            return {}
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        if lines[-1]:  # no newline at the end: a kill cut the last line, or damage
            if not cut_short(lines[-1]):
                raise DataFormatError(f"{path}: the last line is not an item result")
            with path.open("r+b") as handle:
                handle.truncate(len(raw) - len(lines[-1]))
        answered: dict[str, ItemResult] = {}
        for number, line in enumerate(lines[:-1], start=1):
            try:
                result = ItemResult.model_validate_json(line)
            except ValidationError as exc:
                raise DataFormatError(
                    f"{path}:{number}: not an item result: {exc.errors()[0]['msg']}"
                ) from None
            answered[result.id] = result
        return answered

    def record(self, result: ItemResult) -> None:
        """Append one answered item; on disk before the next is asked for."""
        with (self.folder / PARTIAL_FILE).open("ab") as handle:
            handle.write((result.model_dump_json() + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self, summary: ModelEval, results: list[ItemResult]) -> None:
        write_eval(self.folder, summary, results)
        (self.folder / PARTIAL_FILE).unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def report_json(summary: ModelEval, comparison: Comparison | None = None) -> dict[str, Any]:
    """The object ``nanoflux eval --json`` prints."""
    data: dict[str, Any] = {
        "model": summary.model,
        "benchmark": summary.benchmark,
        "n": summary.n,
        "correct": summary.correct,
        "accuracy": summary.accuracy,
        "ci95": list(summary.ci95),
        "failures": summary.failures,
        "answer_format": summary.answer_format,
        "protocol": summary.protocol.model_dump(mode="json") if summary.protocol else None,
        "validity": summary.validity.model_dump(mode="json") if summary.validity else None,
        "degenerate": bool(summary.validity and summary.validity.degenerate),
    }
    if comparison is not None:
        data.update(
            baseline=comparison.baseline,
            baseline_accuracy=comparison.baseline_accuracy,
            delta=comparison.delta,
            delta_ci95=list(comparison.delta_ci95),
            p_value=comparison.p_value,
            p_value_bootstrap=comparison.p_value_bootstrap,
            model_only=comparison.model_only,
            baseline_only=comparison.baseline_only,
            test="exact McNemar (two-sided); paired bootstrap for the interval",
        )
    return json.loads(json.dumps(data))
