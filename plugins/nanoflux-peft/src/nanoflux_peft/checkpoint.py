"""A training killed midway goes on from its last checkpoint, not from step one.

Every ``every`` seconds of the loop (and never in the middle of a step) the trainer
writes ``OUT/checkpoint.pt``: the LoRA weights, the optimizer's state, torch's random
states (dropout, on the CPU and the GPU), the steps done and the counters of the log.
A training started again in the same folder on the same inputs (the fingerprint:
model, options, the encoded examples) loads it and runs the remaining steps, which are
the same steps: the batches are planned from the seed
(:func:`~nanoflux_peft.trainer.plan_batches`). The file is written to a temporary name
and renamed, so a kill leaves the old one or the new one; it is deleted when the
training ends. A checkpoint of other inputs is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKPOINT_FILE = "checkpoint.pt"
#: a checkpoint of a 0.5B model's LoRA (rank 16) and its AdamW state is about 100 MB
CHECKPOINT_SECONDS = 600.0


def fingerprint(config: dict[str, Any], encoded: list[tuple[list[int], list[int]]]) -> str:
    """What the steps depend on: the model, the options and every token and label."""
    digest = hashlib.sha256()
    stable = {k: config[k] for k in ("model", "base", "options", "target_modules", "dtype")}
    digest.update(json.dumps(stable, sort_keys=True, default=str).encode())
    for ids, labels in encoded:
        digest.update(json.dumps([ids, labels]).encode())
    return digest.hexdigest()


@dataclass
class Progress:
    """Where a training stands after ``steps`` optimizer steps."""

    steps: int = 0
    tokens_seen: int = 0
    micro_done: int = 0
    seconds: float = 0.0
    loss: float | None = None
    resumed_from: int | None = field(default=None)


class Checkpoints:
    def __init__(self, folder: Path, key: str, every: float = CHECKPOINT_SECONDS):
        self.path = Path(folder) / CHECKPOINT_FILE
        self.key = key
        self.every = every
        self.last = time.perf_counter()

    def due(self) -> bool:
        return time.perf_counter() - self.last >= self.every

    def save(self, model, optimizer, progress: Progress) -> None:
        import torch
        from peft import get_peft_model_state_dict

        state = {
            "key": self.key,
            "progress": progress.__dict__,
            "lora": get_peft_model_state_dict(model),
            "optimizer": optimizer.state_dict(),
            "rng": torch.get_rng_state(),
            # dropout on a GPU draws from the GPU's generators
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }
        partial = self.path.with_name(self.path.name + ".partial")
        torch.save(state, partial)
        os.replace(partial, self.path)
        self.last = time.perf_counter()

    def restore(self, model, optimizer) -> Progress | None:
        """The progress of the checkpoint of these inputs, its state loaded into
        ``model`` and ``optimizer``; None (and the file removed) when there is none."""
        import torch
        from peft import set_peft_model_state_dict

        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception:  # cut short or damaged: the training starts again
            state = None
        if not isinstance(state, dict) or state.get("key") != self.key:
            self.clear()
            return None
        set_peft_model_state_dict(model, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        progress = Progress(**state["progress"])
        progress.resumed_from = progress.steps
        return progress

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.path.with_name(self.path.name + ".partial").unlink(missing_ok=True)
