"""The contract every trainer passes."""

from __future__ import annotations

import json

import pytest

from ..backends import ModelSpec
from ..training import Trainer, TrainOptions, TrainResult


class TrainerContract:
    """Supply ``trainer``, ``model`` (a model spec the trainer can fine-tune quickly, e.g. a
    tiny model the test builds) and optionally override ``options``."""

    #: the id the plugin registers this under; the meta-test checks that every
    #: installed id has a contract test that declares it
    registered_as: str | None = None

    @pytest.fixture
    def trainer(self) -> Trainer:
        raise NotImplementedError("subclass the contract and supply a `trainer` fixture")

    @pytest.fixture
    def model(self) -> str:
        raise NotImplementedError("supply a model spec")

    @pytest.fixture
    def options(self) -> TrainOptions:
        return TrainOptions(rank=4, alpha=8, epochs=1, batch_size=2, max_length=64)

    @pytest.fixture
    def examples(self):
        return [
            {
                "messages": [
                    {"role": "user", "content": f"What is {a} + {b}?"},
                    {"role": "assistant", "content": f"{a} + {b} = {a + b}. Final answer: {a + b}"},
                ]
            }
            for a, b in [(1, 2), (3, 4), (5, 6), (7, 8)]
        ]

    def test_registered_as(self, trainer):
        assert self.registered_as, "declare registered_as: the trainer's registered name"
        assert isinstance(trainer, Trainer) and trainer.name == self.registered_as

    def test_trains_and_accounts_for_compute(self, trainer, model, options, examples, tmp_path):
        result = trainer.train(examples, model, tmp_path / "out", options)
        assert isinstance(result, TrainResult)
        assert result.adapter_dir.is_dir() and any(result.adapter_dir.iterdir())
        assert result.steps >= 1 and result.examples == len(examples)
        assert result.tokens_seen > 0 and result.seconds > 0 and result.flops_estimate > 0
        log = (result.out_dir / "train_log.jsonl").read_text().splitlines()
        assert log and all("loss" in json.loads(line) for line in log)
        config = json.loads((result.out_dir / "train_config.json").read_text())
        assert config["options"]["rank"] == options.rank
        # evaluation opens the model before and after training by these specs
        assert ModelSpec.parse(result.base_spec) and ModelSpec.parse(result.tuned_spec)
        assert result.tuned_spec != result.base_spec
