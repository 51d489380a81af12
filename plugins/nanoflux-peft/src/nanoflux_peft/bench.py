"""``nanoflux bench train``: LoRA training and hf generation throughput.

Options: ``model`` (a spec; default a tiny model built in a temporary folder),
``dataset`` (a JSONL of chat examples, such as a run's ``dataset.jsonl``; default short
multiplication drills), ``steps`` (default 20), ``max_length`` (default 128),
``batch_size`` (default 4), ``gradient_accumulation`` (default 1), ``new_tokens``
(default 64). Tokens are those of the examples, padding not counted, so two settings
that train on the same examples compare by their ``peft_train_tokens_per_second``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any


def _drills() -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"What is {a} times {b}? Explain step by step."},
                {
                    "role": "assistant",
                    "content": f"{a} times {b} is {a * b}. " * 6 + f"Final answer: {a * b}",
                },
            ]
        }
        for a in range(2, 10)
        for b in range(2, 6)
    ]


def train_throughput(options: dict[str, str]) -> dict[str, Any]:
    from nanoflux.backends import CompletionRequest, ModelSpec
    from nanoflux.records import ChatMessage
    from nanoflux.training import TrainOptions, read_examples

    from .backend import HFBackend
    from .tiny import build_tiny_model
    from .trainer import LoraTrainer

    steps = int(options.get("steps", 20))
    new_tokens = int(options.get("new_tokens", 64))
    dataset = options.get("dataset")
    examples = read_examples(Path(dataset)) if dataset else _drills()
    with tempfile.TemporaryDirectory() as tmp:
        model = options.get("model") or f"hf:{build_tiny_model(Path(tmp) / 'tiny')}"
        train_options = TrainOptions(
            rank=8,
            alpha=16,
            batch_size=int(options.get("batch_size", 4)),
            gradient_accumulation=int(options.get("gradient_accumulation", 1)),
            max_length=int(options.get("max_length", 128)),
            epochs=100,
            max_steps=steps,
        )
        result = LoraTrainer().train(examples, model, Path(tmp) / "out", train_options)
        backend = HFBackend(ModelSpec.parse(result.tuned_spec, {"temperature": 0}))
        request = CompletionRequest(
            messages=[ChatMessage(role="user", content="What is 7 times 3?")], max_tokens=new_tokens
        )
        started = time.perf_counter()
        completion = asyncio.run(backend.complete(request))
        generate_seconds = time.perf_counter() - started
    return {
        "peft_model": model if options.get("model") else "tiny",
        "peft_dataset": dataset or "drills",
        "peft_batch_size": train_options.batch_size,
        "peft_gradient_accumulation": train_options.gradient_accumulation,
        "peft_train_steps": result.steps,
        "peft_train_tokens": result.tokens_seen,
        "peft_train_seconds": round(result.seconds, 3),
        "peft_train_tokens_per_second": round(result.tokens_seen / result.seconds, 1),
        "peft_generate_tokens": completion.completion_tokens,
        "peft_generate_tokens_per_second": round(
            completion.completion_tokens / generate_seconds, 1
        ),
    }
