"""The run directory: the only place a run writes, and safe against kill -9.

Write order for an accepted example: its candidate line (which carries the whole
example) is appended and fsynced first, then the dataset line, then the novelty
store. Any of these can be cut short by a kill; :meth:`RunStore.recover` repairs the
files on resume: a torn last line is dropped, an accepted candidate missing from
dataset.jsonl is appended, and nothing is ever written twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError

CONFIG = "config.toml"
MANIFEST = "manifest.json"
CANDIDATES = "candidates.jsonl"
DATASET = "dataset.jsonl"
STATS = "stats.json"
LOG = "run.log"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _drop_torn_tail(path: Path) -> int:
    """Cut a final line that has no newline (a write interrupted by a kill). Returns bytes cut."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return len(data) - keep


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith("\n"):
                return  # torn tail, repaired on resume
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{number}: not valid JSON: {exc}") from exc


class RunStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def candidates_path(self) -> Path:
        return self.root / CANDIDATES

    @property
    def dataset_path(self) -> Path:
        return self.root / DATASET

    def create(self) -> None:
        if self.root.exists() and any(self.root.iterdir()):
            raise UsageError(
                f"run directory {self.root} is not empty",
                hint=f"continue it with --resume {self.root}, or choose another --out",
            )
        self.root.mkdir(parents=True, exist_ok=True)

    def require_existing(self) -> None:
        if not (self.root / CONFIG).is_file():
            raise UsageError(f"{self.root} is not a run directory (no {CONFIG})")

    def _append(self, path: Path, record: dict[str, Any], *, durable: bool) -> None:
        # One write() per line: a killed process leaves whole lines (the kernel keeps
        # them); fsync is for power loss, paid only where losing the line loses data.
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)

    def append_candidate(self, record: dict[str, Any]) -> None:
        self._append(self.candidates_path, record, durable=record.get("decision") == "accepted")

    def append_example(self, example: dict[str, Any]) -> None:
        # Not fsynced: the candidate line written before it carries the same example
        # durably, and recover() restores a dataset line lost to a power cut.
        self._append(self.dataset_path, example, durable=False)

    def candidates(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.candidates_path))

    def examples(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.dataset_path))

    def recover(self) -> dict[str, int]:
        """Repair after a crash; returns what was done, for the log."""
        report = {
            "torn_candidate_bytes": _drop_torn_tail(self.candidates_path),
            "torn_dataset_bytes": _drop_torn_tail(self.dataset_path),
            "examples_restored": 0,
        }
        in_dataset = {example["id"] for example in read_jsonl(self.dataset_path)}
        for candidate in read_jsonl(self.candidates_path):
            example = candidate.get("example")
            if (
                candidate.get("decision") == "accepted"
                and example
                and example["id"] not in in_dataset
            ):
                self.append_example(example)
                in_dataset.add(example["id"])
                report["examples_restored"] += 1
        return report

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        write_atomic(self.root / name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read_json(self, name: str) -> dict[str, Any]:
        path = self.root / name
        return json.loads(path.read_text("utf-8")) if path.exists() else {}
