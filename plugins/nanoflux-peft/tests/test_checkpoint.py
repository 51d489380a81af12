"""A training killed with SIGKILL goes on from its last checkpoint and ends where an
uninterrupted one ends: the same adapter, the same log, the same compute counted."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from nanoflux_peft.checkpoint import CHECKPOINT_FILE
from nanoflux_peft.trainer import LoraTrainer
from safetensors.torch import load_file

from nanoflux.training import TrainOptions

EXAMPLES = [
    {
        "messages": [
            {"role": "user", "content": f"What is {a} + {a}?"},
            {"role": "assistant", "content": f"{a} + {a} = {2 * a}. Final answer: {2 * a}"},
        ]
    }
    for a in range(8)
]
# dropout on: the random state must come back with the weights
OPTIONS = TrainOptions(rank=4, alpha=8, dropout=0.1, epochs=4, batch_size=2, max_length=64)
STEPS = 16

TRAIN = """
import json, sys
from pathlib import Path
from nanoflux_peft.trainer import LoraTrainer
from nanoflux.training import TrainOptions

model, out, examples, options = sys.argv[1:]
LoraTrainer(checkpoint_seconds=0).train(
    json.loads(Path(examples).read_text()), model, Path(out),
    TrainOptions.model_validate_json(options),
)
"""


def log_rows(folder):
    return [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_checkpoint_and_ends_the_same(tiny_model, tmp_path):
    model = f"hf:{tiny_model}"
    whole = LoraTrainer(checkpoint_seconds=0).train(EXAMPLES, model, tmp_path / "whole", OPTIONS)
    assert whole.steps == STEPS and whole.extra["resumed_from_step"] is None
    assert not (tmp_path / "whole" / CHECKPOINT_FILE).exists()  # gone once trained

    out = tmp_path / "killed"
    (tmp_path / "examples.json").write_text(json.dumps(EXAMPLES))
    argv = [sys.executable, "-c", TRAIN, model, str(out), str(tmp_path / "examples.json")]
    process = subprocess.Popen([*argv, OPTIONS.model_dump_json()], env=os.environ)
    log = out / "train_log.jsonl"
    deadline = time.monotonic() + 60
    while not (log.is_file() and log.read_bytes().count(b"\n") >= 4):
        assert process.poll() is None, "the training ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (out / CHECKPOINT_FILE).is_file() and not (out / "adapter").exists()

    resumed = LoraTrainer(checkpoint_seconds=0).train(EXAMPLES, model, out, OPTIONS)
    # killed after logging step 4: its checkpoint was written, or was being written
    assert 3 <= resumed.extra["resumed_from_step"] < STEPS
    assert not (out / CHECKPOINT_FILE).exists()
    rows, whole_rows = log_rows(out), log_rows(tmp_path / "whole")
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    for key in ("loss", "tokens", "tokens_seen", "learning_rate"):
        assert [r[key] for r in rows] == [r[key] for r in whole_rows], key
    assert resumed.tokens_seen == whole.tokens_seen and resumed.final_loss == whole.final_loss
    weights = load_file(out / "adapter" / "adapter_model.safetensors")
    expected = load_file(tmp_path / "whole" / "adapter" / "adapter_model.safetensors")
    assert weights.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(weights[name], tensor), name


def test_a_checkpoint_of_other_inputs_is_not_resumed(tiny_model, tmp_path):
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    options = OPTIONS.model_copy(update={"max_steps": 2})
    result = LoraTrainer().train(EXAMPLES, f"hf:{tiny_model}", tmp_path, options)
    assert result.extra["resumed_from_step"] is None and result.steps == 2
    assert not (tmp_path / CHECKPOINT_FILE).exists()
