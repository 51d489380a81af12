"""``nanoflux bench train`` on a dataset file: the settings it is asked to compare reach
the trainer, and its tokens are the examples' own (padding is compute, not data)."""

import json

from nanoflux_peft.chat import encode_conversation

from nanoflux.cli.bench_cmd import run_benchmark
from nanoflux.plugins import PluginHost


def test_bench_train_takes_a_dataset_and_the_batching_to_compare(
    tiny_model, tiny_tokenizer, tmp_path
):
    answers = ["Four.", "Two plus two is four, so four. " * 3, "It is 4. " * 8]
    examples = [
        {
            "messages": [
                {"role": "user", "content": "What is 2 + 2?"},
                {"role": "assistant", "content": answer},
            ]
        }
        for answer in answers
    ]
    dataset = tmp_path / "dataset.jsonl"
    dataset.write_text("".join(json.dumps(e) + "\n" for e in examples), "utf-8")
    lengths = [
        len(encode_conversation(tiny_tokenizer, e["messages"], 1 << 30)[0]) for e in examples
    ]
    assert len(set(lengths)) == 3  # a batch of them is padded

    host = PluginHost.load()
    common = {"model": f"hf:{tiny_model}", "dataset": str(dataset), "steps": "1", "new_tokens": "2"}
    apart = run_benchmark(
        host, "train", {**common, "batch_size": "1", "gradient_accumulation": "3"}
    )
    together = run_benchmark(host, "train", {**common, "batch_size": "3"})

    assert (apart["peft_batch_size"], apart["peft_gradient_accumulation"]) == (1, 3)
    assert (together["peft_batch_size"], together["peft_gradient_accumulation"]) == (3, 1)
    assert apart["peft_dataset"] == str(dataset)
    # One step of either is the three examples once: the same tokens, padding not counted.
    assert apart["peft_train_tokens"] == together["peft_train_tokens"] == sum(lengths)
    assert apart["peft_train_steps"] == together["peft_train_steps"] == 1
