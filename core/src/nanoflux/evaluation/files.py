"""An evaluation's folder, written as it goes so a killed evaluation resumes.

| file | what | written |
| --- | --- | --- |
| ``started.json`` | what is measured: model, benchmark, protocol, options, items | first |
| ``items.partial.jsonl`` | an ItemResult per answered item, as they finish | fsynced per item |
| ``items.jsonl`` | every ItemResult, in benchmark order | atomically, at the end |
| ``summary.json`` | the ModelEval | atomically, at the end, last |
| ``eval.lock`` | the pid of the process writing the folder | while it writes |
| ``eval.json`` | what ``nanoflux eval --json`` prints (in the parent ``--out``) | atomically |

Running the same evaluation into the same folder again picks up the answered items and
asks only the rest; a folder that measured something else (another model, model key,
protocol, option or item list) is refused with the difference named, or emptied and
started afresh where its owner says so (the pipeline, whose changed config reruns a
stage). A line of ``items.partial.jsonl`` naming an item this evaluation does not ask
is refused with its file and line. A finished folder is read, not asked again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from ..errors import DataFormatError, UsageError
from ..inputs import iter_jsonl, located
from ..records import Record
from ..secrets import scrub
from ..storage import (
    append,
    cut_short,
    ensure_real_dir,
    hold_exclusive,
    last_line,
    load_record,
    refuse_links,
    truncate,
    write_atomic,
)
from .protocols import Protocol
from .records import Comparison, ItemResult, ModelEval

REPORT_FILE = "eval.json"
SUMMARY_FILE = "summary.json"
ITEMS_FILE = "items.jsonl"
PARTIAL_FILE = "items.partial.jsonl"
STARTED_FILE = "started.json"
LOCK_FILE = "eval.lock"
#: every file the folder holds; a link at any of them is refused
FILES = (SUMMARY_FILE, ITEMS_FILE, PARTIAL_FILE, STARTED_FILE, LOCK_FILE)


class EvalIdentity(Record):
    """What an evaluation measures: two folders with equal identities hold the same number."""

    model: str
    benchmark: str
    protocol: Protocol
    options: dict[str, Any] = Field(default_factory=dict)
    item_ids: list[str]
    model_key: str = Field(
        default="",
        description="What the model's weights are when its spec does not pin them: the "
        "pipeline's key of the training behind a tuned adapter (a retrained adapter keeps "
        "its path). Empty where the spec says it all.",
    )

    def differences(self, there: EvalIdentity) -> list[str]:
        """What differs, as ``key: NOW now, THERE there``; the exemplar file's path is not
        a difference (see :meth:`Protocol.differences`)."""
        names = ("model", "model_key", "benchmark", "options")
        now_fields = {k: getattr(self, k) for k in names}
        there_fields = {k: getattr(there, k) for k in names}
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
    ensure_real_dir(folder)
    write_atomic(folder / ITEMS_FILE, "".join(item.model_dump_json() + "\n" for item in items))
    write_atomic(folder / SUMMARY_FILE, summary.model_dump_json(indent=2) + "\n")


def read_eval(folder: Path) -> tuple[ModelEval, list[ItemResult]] | None:
    """A finished evaluation in ``folder``, or None when there is none. Damage is one
    line naming the file (and line) and the field, never the file's content."""
    summary_path, items_path = folder / SUMMARY_FILE, folder / ITEMS_FILE
    if not (summary_path.exists() and items_path.exists()):
        return None
    return load_record(summary_path, ModelEval), [r for _, r in item_results(items_path)]


def item_results(path: Path) -> Iterator[tuple[str, ItemResult]]:
    """The ItemResults of a JSONL file, each checked where it stands (``file:line``)."""
    for where, value in iter_jsonl(path):
        with located(where):
            yield where, ItemResult.model_validate(value)


class EvalFolder:
    """The folder one evaluation writes; see the module's table.

    ``open`` locks it and returns the items already answered there; ``record`` appends
    one more; ``finish`` writes the result and releases the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        #: the result already in the folder, when :meth:`open` found a finished one
        self.finished: tuple[ModelEval, list[ItemResult]] | None = None
        self._lock_fd: int | None = None

    def open(self, identity: EvalIdentity, *, replace: bool = False) -> dict[str, ItemResult]:
        """Lock the folder; the items answered there. ``replace``: a folder that holds
        another evaluation is emptied instead of refused. A link at any of the folder's
        files (or at the folder) is refused: nothing is read or written through it."""
        identity = EvalIdentity.model_validate(scrub(identity.model_dump(mode="json")))
        ensure_real_dir(self.folder)
        refuse_links(self.folder, FILES)
        self._lock_fd = hold_exclusive(self.folder / LOCK_FILE, f"evaluation {self.folder}")
        try:
            if replace and self._other(identity):
                for name in (SUMMARY_FILE, ITEMS_FILE, PARTIAL_FILE, STARTED_FILE):
                    (self.folder / name).unlink(missing_ok=True)
            return self._answered(identity)
        except BaseException:
            self.close()
            raise

    def _other(self, identity: EvalIdentity) -> bool:
        """Whether the folder holds an evaluation of something else."""
        earlier = self._started()
        if earlier is None:  # none, or one an older NanoFlux wrote without started.json
            return any((self.folder / name).exists() for name in (SUMMARY_FILE, PARTIAL_FILE))
        return bool(identity.differences(earlier))

    def _started(self) -> EvalIdentity | None:
        started = self.folder / STARTED_FILE
        return load_record(started, EvalIdentity) if started.exists() else None

    def _answered(self, identity: EvalIdentity) -> dict[str, ItemResult]:
        earlier = self._started()
        finished = read_eval(self.folder)
        if earlier is None:
            if finished is not None or (self.folder / PARTIAL_FILE).exists():
                raise UsageError(
                    f"{self.folder} holds an evaluation without {STARTED_FILE} "
                    "(written by an older NanoFlux)",
                    hint="choose another --out",
                )
            write_atomic(self.folder / STARTED_FILE, identity.model_dump_json(indent=2) + "\n")
            return {}
        differences = identity.differences(earlier)
        if differences:
            raise UsageError(
                f"{self.folder} holds another evaluation ({'; '.join(differences)})",
                hint="choose another --out, or repeat that evaluation's command to resume it",
            )
        if finished is not None:
            self.finished = finished
            return {result.id: result for result in finished[1]}
        return self._read_partial(set(identity.item_ids))

    def _read_partial(self, asked: set[str]) -> dict[str, ItemResult]:
        path = self.folder / PARTIAL_FILE
        if not path.exists():
            return {}
        end, tail = last_line(path)
        if tail:  # no newline at the end: a kill cut the last line, or damage
            if not cut_short(tail):
                raise DataFormatError(f"{path}: the last line is not an item result")
            truncate(path, end)
        answered: dict[str, ItemResult] = {}
        for where, result in item_results(path):
            if result.id not in asked:
                raise DataFormatError(
                    f"{where}: item {result.id!r} is not one of the "
                    f"{len(asked)} items of this evaluation ({STARTED_FILE})",
                    hint="delete that line: the folder's other answers still resume",
                )
            answered[result.id] = result  # an item asked again: its later line stands
        return answered

    def record(self, result: ItemResult) -> None:
        """Append one answered item; on disk before the next is asked for."""
        line = (result.model_dump_json() + "\n").encode("utf-8")
        append(self.folder / PARTIAL_FILE, line, durable=True)

    def finish(self, summary: ModelEval, results: list[ItemResult]) -> None:
        write_eval(self.folder, summary, results)
        (self.folder / PARTIAL_FILE).unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def write_report(folder: Path, data: dict[str, Any]) -> Path:
    """``eval.json`` in ``folder``: the object ``nanoflux eval --json`` prints."""
    ensure_real_dir(folder)
    path = folder / REPORT_FILE
    write_atomic(path, json.dumps(data, indent=2) + "\n")
    return path


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
