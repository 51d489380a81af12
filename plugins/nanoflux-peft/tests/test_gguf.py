"""The bundled SmolLM2-135M GGUF, dequantised by transformers: trained and served offline."""

import asyncio
import json

import pytest

from nanoflux.backends import CompletionRequest, ModelSpec
from nanoflux.plugins import PluginHost
from nanoflux.records import Answer, ChatMessage
from nanoflux.training import TrainOptions


@pytest.mark.slow
def test_smollm2_gguf_trains_and_serves_with_its_adapter(tmp_path):
    host = PluginHost.load(allow=["peft"])
    examples = [
        {
            "messages": [
                {"role": "user", "content": f"What is {a} + {a}?"},
                {"role": "assistant", "content": f"{a} + {a} = {2 * a}. Final answer: {2 * a}"},
            ]
        }
        for a in (2, 3)
    ]
    options = TrainOptions(rank=4, alpha=8, max_length=64, batch_size=2, max_steps=1)
    # llamacpp:smollm2-135m names the same GGUF weights as hf:default
    result = host.open_trainer("peft").train(
        examples, "llamacpp:smollm2-135m", tmp_path / "out", options
    )
    config = json.loads((result.out_dir / "train_config.json").read_text())
    assert config["base"] == "default" and config["chat_template"] == "own"
    assert config["params_total"] > 100_000_000  # 135M, dequantised
    assert result.tuned_spec.startswith("hf:default+")
    backend = host.open_backend(ModelSpec.parse(result.tuned_spec, {"temperature": 0}))
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="What is 4 + 4?")],
        json_schema=Answer.model_json_schema(),
        max_tokens=24,
    )
    completion = asyncio.run(backend.complete(request))
    assert Answer.model_validate(completion.data)
    assert completion.prompt_tokens > 10
