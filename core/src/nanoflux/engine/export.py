"""Export formats for a run's dataset.jsonl.

* messages: TRL SFT chat format, ``{"messages": [...]}``
* alpaca: ``{"instruction", "input", "output"}``
* sharegpt: ``{"conversations": [{"from": "human"|"gpt", "value"}]}``
* dpo: ``{"prompt", "chosen", "rejected"}``: chosen is the verified solution, rejected
  the defender's wrong answer
* hf: a ``datasets`` save_to_disk folder of the messages format (needs ``datasets``)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import NotAvailableError, UsageError
from .run_store import RunStore


def to_messages(example: dict[str, Any]) -> dict[str, Any]:
    return {"id": example["id"], "messages": example["messages"]}


def to_alpaca(example: dict[str, Any]) -> dict[str, Any]:
    user, assistant = example["messages"][0], example["messages"][-1]
    return {"instruction": user["content"], "input": "", "output": assistant["content"]}


def to_sharegpt(example: dict[str, Any]) -> dict[str, Any]:
    speaker = {"user": "human", "assistant": "gpt", "system": "system"}
    return {
        "id": example["id"],
        "conversations": [
            {"from": speaker[m["role"]], "value": m["content"]} for m in example["messages"]
        ],
    }


def to_dpo(example: dict[str, Any]) -> dict[str, Any]:
    meta = example["metadata"]
    rejected = meta.get("defender_reasoning", "").strip()
    rejected = f"{rejected}\n\nFinal answer: {meta['defender_answer']}".strip()
    return {
        "id": example["id"],
        "prompt": example["messages"][0]["content"],
        "chosen": example["messages"][-1]["content"],
        "rejected": rejected,
    }


FORMATS: dict[str, Callable[[dict[str, Any]], dict[str, Any]] | None] = {
    "messages": to_messages,
    "alpaca": to_alpaca,
    "sharegpt": to_sharegpt,
    "dpo": to_dpo,
    "hf": None,
}


def export_dataset(run_dir: Path, fmt: str, destination: Path | None = None) -> tuple[Path, int]:
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint=f"use one of {sorted(FORMATS)}")
    examples = RunStore(run_dir).examples()
    if fmt == "hf":
        try:
            import datasets
        except ImportError:
            raise NotAvailableError(
                "the hf export needs the `datasets` package", hint="pip install datasets"
            ) from None
        target = destination or run_dir / "export" / "hf"
        rows = [to_messages(e) for e in examples]
        datasets.Dataset.from_list(rows).save_to_disk(str(target))
        return target, len(rows)
    convert = FORMATS[fmt]
    target = destination or run_dir / "export" / f"{fmt}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(convert(example), ensure_ascii=False) + "\n")
    return target, len(examples)
