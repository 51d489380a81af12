"""LoRA supervised fine-tuning with a plain PyTorch loop.

A hand-written loop rather than ``transformers.Trainer``: every token that goes
through the model is counted where it happens, so the compute a run reports (tokens,
seconds, FLOPs) is measured, not inferred from a library's logs.

Compute accounting: ``tokens_seen`` counts every non-padding token of every training
sequence (prompt and answer: both go through the forward and backward pass).
``flops_estimate = 6 * total_params * tokens_seen`` (the usual 2N forward + 4N backward
per token, with N = all parameters of the base model, embeddings included). With LoRA
the weight gradients of the frozen matrices are skipped, so the true cost is nearer
4N per token; 6N is kept because it is the convention the paper's comparisons use and
it is the same for both runs of a comparison, so their ratio is the token ratio.
"""

from __future__ import annotations

import json
import math
import random
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from nanoflux.errors import ConfigError, DataFormatError
from nanoflux.training import Trainer, TrainOptions, TrainResult

from .chat import IGNORE_INDEX, encode_conversation, ensure_template, validate_messages
from .checkpoint import CHECKPOINT_SECONDS, Checkpoints, Progress, fingerprint
from .models import (
    ModelRef,
    load_base_model,
    load_tokenizer,
    parse_ref,
    pick_device,
    pick_dtype,
    quiet,
)

FLOPS_FORMULA = "6 * total_params * tokens_seen"
# Linear layers LoRA adapts by default, across common architectures.
COMMON_TARGETS = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
    "c_attn",
    "c_proj",
    "c_fc",
    "query_key_value",
    "qkv_proj",
    "gate_up_proj",
    "fc1",
    "fc2",
    "Wqkv",
    "out_proj",
)
WARMUP_FRACTION = 0.03


def default_targets(model) -> list[str] | str:
    import torch

    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head")
    }
    chosen = sorted(names & set(COMMON_TARGETS))
    return chosen or "all-linear"


def _versions() -> dict[str, str]:
    found = {}
    for name in ("torch", "transformers", "peft", "nanoflux-peft"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def plan_batches(n: int, options: TrainOptions) -> list[list[list[int]]]:
    """Optimizer steps, each a list of micro-batches of example indices.

    Fractional epochs run the first part of the last shuffled epoch; ``max_steps`` cuts.
    """
    rng = random.Random(options.seed)
    per_epoch = math.ceil(n / options.batch_size)
    total_micro = max(1, math.ceil(options.epochs * per_epoch))
    micro: list[list[int]] = []
    while len(micro) < total_micro:
        order = list(range(n))
        rng.shuffle(order)
        micro += [order[i : i + options.batch_size] for i in range(0, n, options.batch_size)]
    micro = micro[:total_micro]
    accumulation = options.gradient_accumulation
    steps = [micro[i : i + accumulation] for i in range(0, len(micro), accumulation)]
    if options.max_steps is not None:
        steps = steps[: options.max_steps]
    return steps


def learning_rate(step: int, total: int, peak: float) -> float:
    """Short linear warm-up, then linear decay to zero after the last step."""
    warmup = int(WARMUP_FRACTION * total)
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    return peak * (total - step) / max(1, total - warmup) if total > warmup else peak


class LoraTrainer(Trainer):
    name = "peft"

    def __init__(self, checkpoint_seconds: float = CHECKPOINT_SECONDS):
        #: how often (seconds of training) the loop writes a checkpoint to resume from
        self.checkpoint_seconds = checkpoint_seconds

    def train(
        self, examples: list[dict[str, Any]], model: str, out_dir: Path, options: TrainOptions
    ) -> TrainResult:
        import torch
        from peft import LoraConfig, get_peft_model

        started = time.perf_counter()
        ref = parse_ref(model, prefixes=("hf", "llamacpp"))
        if ref.adapter is not None:
            raise ConfigError(
                f"model {model}: train from a base model, not from base+adapter",
                hint="merge the adapter first (nanoflux train --merge), train on the merged folder",
            )
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        device = pick_device()
        dtype = pick_dtype(device)

        tokenizer = load_tokenizer(ref.base)
        template = ensure_template(tokenizer)
        encoded, truncated, skipped = [], 0, 0
        for i, example in enumerate(examples):
            messages = validate_messages(example, f"example {i}")
            ids, labels = encode_conversation(tokenizer, messages, 1 << 30)
            if len(ids) > options.max_length:
                truncated += 1
                ids, labels = ids[: options.max_length], labels[: options.max_length]
            if not any(label != IGNORE_INDEX for label in labels[1:]):
                skipped += 1  # the answer starts beyond max_length: nothing to learn
                continue
            encoded.append((ids, labels))
        if not encoded:
            raise DataFormatError(
                f"no example has answer tokens within max_length={options.max_length}",
                hint="raise --max-length",
            )

        torch.manual_seed(options.seed)
        base_model = load_base_model(ref.base, device=device, dtype=dtype)
        base_model.config.use_cache = False
        params_total = sum(p.numel() for p in base_model.parameters())
        targets = options.target_modules or default_targets(base_model)
        lora = LoraConfig(
            r=options.rank,
            lora_alpha=options.alpha,
            lora_dropout=options.dropout,
            target_modules=targets,
            task_type="CAUSAL_LM",
        )
        try:
            with quiet():
                peft_model = get_peft_model(base_model, lora)
        except ValueError as exc:
            raise ConfigError(f"target_modules {targets}: {exc}") from exc
        trainable = [p for p in peft_model.parameters() if p.requires_grad]
        for parameter in trainable:
            parameter.data = parameter.data.float()  # LoRA weights in fp32, base in bf16
        params_trainable = sum(p.numel() for p in trainable)
        autocast = device.startswith("cuda") and dtype != torch.float32
        sliced = accepts_logits_to_keep(base_model)

        steps = plan_batches(len(encoded), options)
        config = {
            "trainer": self.name,
            "model": model,
            "base": ref.base.label,
            "base_spec": ref.base.spec,
            "options": options.model_dump(mode="json"),
            "target_modules": targets,
            "device": device,
            "dtype": str(dtype).removeprefix("torch."),
            "chat_template": template,
            "examples_given": len(examples),
            "examples": len(encoded),
            "examples_truncated": truncated,
            "examples_skipped": skipped,
            "steps": len(steps),
            "schedule": f"AdamW, linear decay, {WARMUP_FRACTION:.0%} warm-up, grad clip 1.0",
            "loss": "mean cross-entropy over assistant tokens (prompt and padding labelled -100)",
            "logits": "target positions only (logits_to_keep)" if sliced else "all positions",
            "flops_formula": FLOPS_FORMULA,
            "params_total": params_total,
            "params_trainable": params_trainable,
            "versions": _versions(),
        }
        (out_dir / "train_config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")

        optimizer = torch.optim.AdamW(trainable, lr=options.learning_rate, weight_decay=0.0)
        checkpoints = Checkpoints(out_dir, fingerprint(config, encoded), self.checkpoint_seconds)
        progress = checkpoints.restore(peft_model, optimizer) or Progress()
        load_seconds = time.perf_counter() - started
        loop = StepLoop(
            peft_model,
            optimizer,
            trainable,
            encoded,
            options,
            pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
            device=device,
            dtype=dtype if autocast else None,
            sliced=sliced,
        )
        progress = loop.run(steps, progress, out_dir / "train_log.jsonl", checkpoints)
        seconds = progress.seconds
        tokens_seen, loss_value = progress.tokens_seen, progress.loss

        adapter_dir = out_dir / "adapter"
        with quiet():
            peft_model.save_pretrained(str(adapter_dir))
        merged_dir = None
        if options.merge:
            merged_dir = out_dir / "merged"
            merged = peft_model.merge_and_unload()
            merged.config.use_cache = True
            merged.save_pretrained(str(merged_dir))
            tokenizer.save_pretrained(str(merged_dir))
        del peft_model, base_model
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

        tuned = ModelRef(ref.base, adapter_dir.resolve())
        result = TrainResult(
            out_dir=out_dir,
            adapter_dir=adapter_dir,
            merged_dir=merged_dir,
            steps=len(steps),
            examples=len(encoded),
            tokens_seen=tokens_seen,
            seconds=seconds,
            flops_estimate=6.0 * params_total * tokens_seen,
            final_loss=loss_value,
            base_spec=ref.base.spec,
            tuned_spec=tuned.spec,
            extra={
                "merged_spec": f"hf:{merged_dir.resolve()}" if merged_dir else None,
                "flops_formula": FLOPS_FORMULA,
                "params_total": params_total,
                "params_trainable": params_trainable,
                "load_seconds": load_seconds,
                "device": device,
                "examples_skipped": skipped,
                "examples_truncated": truncated,
                "resumed_from_step": progress.resumed_from,
            },
        )
        (out_dir / "train_result.json").write_text(result.model_dump_json(indent=2) + "\n", "utf-8")
        checkpoints.clear()
        return result


class StepLoop:
    """The optimizer steps of a training, from where ``progress`` stands: each step's
    row appended to the log, a checkpoint whenever one is due."""

    def __init__(
        self, model, optimizer, trainable, encoded, options, *, pad_id, device, dtype, sliced
    ):
        self.model, self.optimizer, self.trainable = model, optimizer, trainable
        self.encoded, self.options = encoded, options
        self.pad_id, self.device, self.dtype, self.sliced = pad_id, device, dtype, sliced
        self.per_epoch = math.ceil(len(encoded) / options.batch_size)

    def run(self, steps, progress: Progress, log_path: Path, checkpoints: Checkpoints) -> Progress:
        self.model.train()
        started = time.perf_counter() - progress.seconds
        with _log_from(log_path, progress.steps) as log:
            for step in range(progress.steps, len(steps)):
                row = self.step(step, steps[step], len(steps), progress)
                progress.seconds = row["seconds"] = time.perf_counter() - started
                log.write(json.dumps(row) + "\n")
                log.flush()
                if checkpoints.due() and progress.steps < len(steps):
                    checkpoints.save(self.model, self.optimizer, progress)
        progress.seconds = time.perf_counter() - started
        return progress

    def step(self, step: int, micro_batches, total: int, progress: Progress) -> dict[str, Any]:
        import torch

        rate = learning_rate(step, total, self.options.learning_rate)
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        batches = [
            _collate([self.encoded[i] for i in mb], self.pad_id, self.device)
            for mb in micro_batches
        ]
        target_tokens = sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in batches)
        step_loss = 0.0
        step_tokens = 0
        for batch in batches:
            with torch.autocast(
                device_type="cuda", dtype=self.dtype, enabled=self.dtype is not None
            ):
                loss = target_loss(self.model, batch, self.sliced) / target_tokens
            loss.backward()
            step_loss += loss.detach().item()
            step_tokens += int(batch["attention_mask"].sum())
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.trainable, 1.0))
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        progress.steps = step + 1
        progress.tokens_seen += step_tokens
        progress.micro_done += len(micro_batches)
        progress.loss = step_loss
        return {
            "step": step + 1,
            "epoch": round(progress.micro_done / self.per_epoch, 4),
            "loss": step_loss,
            "learning_rate": rate,
            "grad_norm": grad_norm,
            "tokens": step_tokens,
            "target_tokens": target_tokens,
            "tokens_seen": progress.tokens_seen,
        }


def _log_from(path: Path, steps: int):
    """The training log opened for appending after its first ``steps`` rows: those the
    checkpoint holds (a killed training may have logged steps after it, and a last
    row cut short)."""
    kept = []
    if steps and path.is_file():
        for line in path.read_text("utf-8").splitlines()[:steps]:
            try:
                kept.append(json.dumps(json.loads(line)) + "\n")
            except ValueError:
                break
    path.write_text("".join(kept), "utf-8")
    return path.open("a", encoding="utf-8")


def accepts_logits_to_keep(model) -> bool:
    import inspect

    return "logits_to_keep" in inspect.signature(model.forward).parameters


def target_loss(model, batch: dict[str, Any], sliced: bool):
    """Summed cross-entropy over the target tokens of a batch.

    With ``sliced``, the vocabulary projection runs only at positions that predict a
    target token in some row (``logits_to_keep``): prompt positions need no logits, and
    for a 150k-token vocabulary the full logits of a batch would take gigabytes.
    """
    import torch

    labels = batch["labels"][:, 1:]
    if sliced:
        positions = (labels != IGNORE_INDEX).any(dim=0).nonzero().squeeze(-1)
        logits = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            logits_to_keep=positions,
        ).logits
        labels = labels[:, positions]
    else:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logits = logits[:, :-1]
    return torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]),
        labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )


def _collate(rows: list[tuple[list[int], list[int]]], pad_id: int, device: str) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, target) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(target)] = torch.tensor(target)
        attention[i, : len(ids)] = 1
    return {
        "input_ids": input_ids.to(device),
        "labels": labels.to(device),
        "attention_mask": attention.to(device),
    }
