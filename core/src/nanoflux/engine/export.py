"""Export formats for a run's dataset.jsonl.

* messages: TRL SFT chat format, ``{"messages": [...]}``
* alpaca: ``{"instruction", "input", "output"}``
* sharegpt: ``{"conversations": [{"from": "human"|"gpt", "value"}]}``
* dpo: ``{"prompt", "chosen", "rejected"}``: chosen is the verified solution, rejected
  the defender's wrong answer
* hf: a ``datasets`` save_to_disk folder of the messages format (needs ``datasets``)

An export is written whole or not at all (a temporary file, then a rename), and never
over one of a run's own files: ``--to RUN/dataset.jsonl`` would destroy the run. A link
at the target is replaced, not written through, and a link at ``RUN/export`` is refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, NotAvailableError, UsageError
from ..records import Example
from ..storage import UnsafePathError, ensure_real_dir, write_atomic
from .example import with_final_answer
from .run_store import RUN_FILES, RunStore, encode_line


def to_messages(example: Example) -> dict[str, Any]:
    return {"id": example.id, "messages": [m.model_dump() for m in example.messages]}


def to_alpaca(example: Example) -> dict[str, Any]:
    user, assistant = example.messages[0], example.messages[-1]
    return {"instruction": user.content, "input": "", "output": assistant.content}


def to_sharegpt(example: Example) -> dict[str, Any]:
    speaker = {"user": "human", "assistant": "gpt", "system": "system"}
    return {
        "id": example.id,
        "conversations": [{"from": speaker[m.role], "value": m.content} for m in example.messages],
    }


def to_dpo(example: Example) -> dict[str, Any]:
    meta = example.metadata
    if meta is None or meta.defender_answer is None:
        raise DataFormatError(
            f"example {example.id!r} has no defender answer, which dpo needs as `rejected`"
        )
    rejected = with_final_answer(meta.defender_reasoning or "", meta.defender_answer)
    return {
        "id": example.id,
        "prompt": example.messages[0].content,
        "chosen": example.messages[-1].content,
        "rejected": rejected,
    }


FORMATS: dict[str, Callable[[Example], dict[str, Any]] | None] = {
    "messages": to_messages,
    "alpaca": to_alpaca,
    "sharegpt": to_sharegpt,
    "dpo": to_dpo,
    "hf": None,
}


def _refuse_run_files(target: Path) -> None:
    """A run's own files and directories are never an export's target."""
    target = target.resolve()
    if RunStore(target).is_run():
        raise UsageError(f"--to {target} is a run directory; exports go beside or inside it")
    if target.name in RUN_FILES and RunStore(target.parent).is_run():
        raise UsageError(
            f"--to {target} is a file of the run in {target.parent}; it is never overwritten",
            hint="choose another --to (default: RUN_DIR/export/<format>.jsonl)",
        )


def _write_lines(target: Path, rows: Iterable[dict[str, Any]]) -> int:
    """JSONL through a temporary file beside ``target``: all of it, or nothing. A link at
    ``target`` is replaced, never written through."""
    count = 0

    def lines() -> Iterator[bytes]:
        nonlocal count
        for row in rows:
            yield encode_line(row)
            count += 1

    write_atomic(target, lines(), unique=True)  # unique: two exports may run at once
    return count


def _save_hf(target: Path, rows: list[dict[str, Any]]) -> None:
    try:
        import datasets
    except ImportError:
        raise NotAvailableError(
            "the hf export needs the `datasets` package", hint="pip install datasets"
        ) from None
    if target.is_symlink():
        raise UnsafePathError(f"--to {target} is a symbolic link; exports replace folders only")
    if target.exists() and not (target / "dataset_info.json").is_file():
        raise UsageError(f"--to {target} exists and is not an earlier hf export")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        datasets.Dataset.from_list(rows).save_to_disk(str(staging / "hf"))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / "hf", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export_dataset(run_dir: Path, fmt: str, destination: Path | None = None) -> tuple[Path, int]:
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint=f"use one of {sorted(FORMATS)}")
    store = RunStore(run_dir)
    store.require_run()
    examples = list(store.examples())
    default = run_dir / "export" / ("hf" if fmt == "hf" else f"{fmt}.jsonl")
    target = Path(destination) if destination else default
    _refuse_run_files(target)
    convert = FORMATS[fmt]
    rows = [(convert or to_messages)(e) for e in examples]
    if destination is None:
        ensure_real_dir(target.parent)  # a link planted at RUN/export is not followed
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "hf":
            _save_hf(target, rows)
        else:
            _write_lines(target, rows)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target, len(rows)
