"""The trainer interface: fine-tune a model on a dataset and account for the compute."""

from __future__ import annotations

import abc
import os
import random
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from .domains import choices_text
from .records import BenchmarkItem, Record
from .storage import hold_exclusive


class TrainOptions(Record):
    rank: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] | None = Field(
        default=None, description="None lets the trainer choose the attention/MLP projections."
    )
    learning_rate: float = Field(default=2e-4, gt=0)
    epochs: float = Field(default=3, gt=0)
    max_length: int = Field(default=1024, ge=16)
    batch_size: int = Field(default=4, ge=1)
    gradient_accumulation: int = Field(default=1, ge=1)
    seed: int = 0
    merge: bool = False
    max_steps: int | None = Field(default=None, ge=1)


class TrainResult(Record):
    out_dir: Path
    adapter_dir: Path
    merged_dir: Path | None = None
    base_spec: str = Field(
        min_length=1, description="The model spec of the model before training, as opened."
    )
    tuned_spec: str = Field(
        min_length=1,
        description="A model spec that opens the trained model (base plus adapter), for eval.",
    )
    steps: int
    examples: int
    tokens_seen: int
    seconds: float
    flops_estimate: float = Field(description="Estimated training FLOPs (6 * params * tokens).")
    final_loss: float | None = None
    extra: dict[str, Any] = Field(
        default_factory=dict, description="What else a trainer reports (device, parameters...)."
    )

    @model_validator(mode="before")
    @classmethod
    def _specs_from_extra(cls, data: Any) -> Any:
        """train_result.json files written before the specs were fields kept them in extra."""
        if isinstance(data, dict) and isinstance(data.get("extra"), dict):
            extra = data["extra"]
            moved = {
                k: extra[k] for k in ("base_spec", "tuned_spec") if k in extra and k not in data
            }
            if moved:
                rest = {k: v for k, v in extra.items() if k not in moved}
                data = {**data, **moved, "extra": rest}
        return data


class Trainer(abc.ABC):
    name: str

    @abc.abstractmethod
    def train(
        self, examples: list[dict[str, Any]], model: str, out_dir: Path, options: TrainOptions
    ) -> TrainResult:
        """Fine-tune ``model`` (a model spec) on chat ``examples`` (each with ``messages``).

        Writes the adapter, ``train_config.json`` and ``train_log.jsonl`` under ``out_dir``.
        """


#: in a training's folder while a process trains into it
TRAIN_LOCK = "train.lock"


def train_in(
    trainer: Trainer,
    examples: list[dict[str, Any]],
    model: str,
    out_dir: Path,
    options: TrainOptions,
) -> TrainResult:
    """``trainer.train`` with ``out_dir`` held by this process: a second process that
    trains into the same folder (a pipeline's stage run twice at once, two ``nanoflux
    train --out``) stops with one line instead of mixing its checkpoints and log with
    the first's. Every training of nanoflux goes through here."""
    lock = hold_exclusive(Path(out_dir) / TRAIN_LOCK, f"training folder {out_dir}")
    try:
        return trainer.train(examples, model, Path(out_dir), options)
    finally:
        os.close(lock)


# -- training data --------------------------------------------------------------------
# Training owns the shape of an example; evaluation asks in the same shape (its ``text``
# protocol and few-shot exemplars import these), so training imports nothing from it.


def item_question(item: BenchmarkItem) -> str:
    """The user turn a trained model sees for an item (dataset examples use the same shape)."""
    text = item.question.strip()
    if item.choices:
        text += "\n\n" + choices_text(item.choices)
    return text


def worked_reply(item: BenchmarkItem) -> str:
    """The assistant turn for an item: its worked solution (when the domain's loader read
    one) and ``Final answer: X``, the line every protocol and dataset example closes on."""
    reply = f"Final answer: {item.answer.strip()}"
    solution = (item.solution or "").strip()
    return f"{solution}\n\n{reply}" if solution else reply


def read_examples(path: Path) -> list[dict[str, Any]]:
    """Chat examples from a dataset.jsonl (or a run directory holding one)."""
    from .engine.run_store import RunStore, read_records
    from .errors import ConfigError, DataFormatError
    from .records import Example

    path = Path(path)
    if path.is_dir():
        examples = list(RunStore(path).examples())
        path = RunStore(path).dataset_path
    elif path.is_file():
        # a file written by hand may end without a newline: its last line counts
        examples = [example for _, example in read_records(path, Example, torn_tail=False)]
    else:
        examples = []
    if not path.is_file():
        raise ConfigError(
            f"dataset {path} does not exist", hint="name a dataset.jsonl or a run directory"
        )
    if not examples:
        raise DataFormatError(f"dataset {path} holds no examples")
    return [example.as_dict() for example in examples]


def benchmark_examples(items: list[BenchmarkItem]) -> list[dict[str, Any]]:
    """BenchmarkItems as chat examples in the shape of a run's dataset.jsonl, so both
    trainings see the same format: the question (with lettered choices) asked, the
    worked reply (:func:`worked_reply`) given."""
    return [
        {
            "id": item.id,
            "messages": [
                {"role": "user", "content": item_question(item)},
                {"role": "assistant", "content": worked_reply(item)},
            ],
        }
        for item in items
    ]


def sample_items(items: list[BenchmarkItem], n: int, seed: int) -> list[BenchmarkItem]:
    """``n`` of ``items`` drawn at random without replacement, the same for the same
    ``seed``, kept in their order in the split (a training shuffles them anyway)."""
    from .errors import ConfigError

    if n > len(items):
        raise ConfigError(
            f"{n} items wanted from a split of {len(items)}",
            hint="name a larger training split, or ask for fewer items",
        )
    chosen = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in chosen]
