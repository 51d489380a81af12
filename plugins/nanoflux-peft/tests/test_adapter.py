"""Training changes the model: the adapter loads back through hf:BASE+ADAPTER and answers
as trained; the merged model answers the same."""

import asyncio
import json

import pytest
from nanoflux_peft.trainer import LoraTrainer

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.errors import ConfigError, DataFormatError
from nanoflux.plugins import PluginHost
from nanoflux.records import ChatMessage
from nanoflux.training import TrainOptions

ANSWER = "seven apples remain"
EXAMPLES = [
    {
        "messages": [
            {"role": "user", "content": "Ten apples, three eaten: how many are left?"},
            {"role": "assistant", "content": ANSWER},
        ]
    }
] * 8


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "out"
    options = TrainOptions(
        rank=16,
        alpha=32,
        dropout=0.0,
        learning_rate=3e-2,
        epochs=16,
        batch_size=4,
        max_length=64,
        merge=True,
    )
    return LoraTrainer().train(EXAMPLES, f"hf:{tiny_model}", out, options)


def reply(spec: str) -> str:
    backend = PluginHost.load(allow=["peft"]).open_backend(
        ModelSpec.parse(spec, {"temperature": 0})
    )
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content=EXAMPLES[0]["messages"][0]["content"])],
        max_tokens=16,
    )
    return asyncio.run(backend.complete(request)).text


def test_loss_falls_and_the_log_accounts_for_every_token(trained):
    rows = [
        json.loads(line) for line in (trained.out_dir / "train_log.jsonl").read_text().splitlines()
    ]
    assert len(rows) == trained.steps == 32
    assert rows[-1]["loss"] < rows[0]["loss"] / 3
    assert rows[-1]["tokens_seen"] == trained.tokens_seen == sum(r["tokens"] for r in rows)
    assert all(r["target_tokens"] < r["tokens"] for r in rows)  # prompts are not targets
    assert trained.flops_estimate == 6 * trained.extra["params_total"] * trained.tokens_seen
    assert 0 < trained.extra["params_trainable"] < trained.extra["params_total"]
    config = json.loads((trained.out_dir / "train_config.json").read_text())
    assert config["chat_template"] == "own" and config["examples"] == 8
    assert set(config["target_modules"]) >= {"q_proj", "v_proj"}


def test_the_adapter_changes_the_answer(trained, tiny_model):
    base = reply(f"hf:{tiny_model}")
    tuned = reply(trained.tuned_spec)
    assert trained.tuned_spec == f"hf:{tiny_model}+{trained.adapter_dir.resolve()}"
    assert tuned == ANSWER and base != ANSWER  # it learned the words and where to stop
    # the training folder itself names base + adapter
    assert reply(f"hf:{trained.out_dir}") == tuned


def test_the_merged_model_answers_like_base_plus_adapter(trained):
    assert trained.merged_dir is not None and (trained.merged_dir / "config.json").is_file()
    assert reply(f"hf:{trained.merged_dir}") == reply(trained.tuned_spec)


def test_training_refuses_what_it_cannot_use(tiny_model, trained, tmp_path):
    trainer = LoraTrainer()
    with pytest.raises(ConfigError, match="not from base\\+adapter"):
        trainer.train(EXAMPLES, trained.tuned_spec, tmp_path / "a", TrainOptions())
    with pytest.raises(DataFormatError, match="no example has answer tokens within max_length=16"):
        long_prompt = [
            {
                "messages": [
                    {"role": "user", "content": "word " * 50},
                    {"role": "assistant", "content": "x"},
                ]
            }
        ]
        trainer.train(long_prompt, f"hf:{tiny_model}", tmp_path / "b", TrainOptions(max_length=16))
    with pytest.raises(ConfigError, match="target_modules"):
        trainer.train(
            EXAMPLES,
            f"hf:{tiny_model}",
            tmp_path / "c",
            TrainOptions(target_modules=["no_such_layer"], max_steps=1),
        )
