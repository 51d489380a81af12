"""The trainer interface: fine-tune a model on a dataset and account for the compute."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

from pydantic import Field

from .records import Record


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
    steps: int
    examples: int
    tokens_seen: int
    seconds: float
    flops_estimate: float = Field(description="Estimated training FLOPs (6 * params * tokens).")
    final_loss: float | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class Trainer(abc.ABC):
    name: str

    @abc.abstractmethod
    def train(
        self, examples: list[dict[str, Any]], model: str, out_dir: Path, options: TrainOptions
    ) -> TrainResult:
        """Fine-tune ``model`` (a model spec) on chat ``examples`` (each with ``messages``).

        Writes the adapter, ``train_config.json`` and ``train_log.jsonl`` under ``out_dir``.
        """
