"""Loss on assistant tokens only: the labels mask, checked token by token."""

import pytest
from nanoflux_peft.chat import (
    FALLBACK_TEMPLATE,
    IGNORE_INDEX,
    encode_conversation,
    encode_text,
    ensure_template,
    prompt_text,
    validate_messages,
)
from nanoflux_peft.trainer import _collate, plan_batches

from nanoflux.errors import DataFormatError
from nanoflux.training import TrainOptions


def targets(tokenizer, ids, labels):
    return tokenizer.decode(
        [t for t, label in zip(ids, labels, strict=True) if label != IGNORE_INDEX]
    )


def prompt_part(tokenizer, ids, labels):
    return tokenizer.decode(
        [t for t, label in zip(ids, labels, strict=True) if label == IGNORE_INDEX]
    )


def test_only_the_answer_and_its_end_of_turn_are_targets(tiny_tokenizer):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 12 + 30?"},
        {"role": "assistant", "content": "12 + 30 = 42. Final answer: 42"},
    ]
    ids, labels = encode_conversation(tiny_tokenizer, messages, 512)
    assert len(ids) == len(labels)
    assert targets(tiny_tokenizer, ids, labels) == "12 + 30 = 42. Final answer: 42<|im_end|>\n"
    prompt = prompt_part(tiny_tokenizer, ids, labels)
    assert "What is 12 + 30?" in prompt and "Be brief." in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    # the labels sit at the very same positions as the ids they copy
    assert all(label in (IGNORE_INDEX, t) for t, label in zip(ids, labels, strict=True))
    # and the prompt the backend sends at inference is the masked part, exactly
    first_target = next(i for i, label in enumerate(labels) if label != IGNORE_INDEX)
    assert ids[:first_target] == encode_text(
        tiny_tokenizer, prompt_text(tiny_tokenizer, messages[:2])
    )


def test_every_assistant_turn_of_a_dialogue_is_learned(tiny_tokenizer):
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "first reply"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "second reply"},
    ]
    ids, labels = encode_conversation(tiny_tokenizer, messages, 512)
    assert targets(tiny_tokenizer, ids, labels) == "first reply<|im_end|>\nsecond reply<|im_end|>\n"
    assert "two" in prompt_part(tiny_tokenizer, ids, labels)


def test_truncation_keeps_ids_and_labels_aligned(tiny_tokenizer):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a " * 200}]
    ids, labels = encode_conversation(tiny_tokenizer, messages, 20)
    assert len(ids) == len(labels) == 20


def test_a_tokenizer_without_template_gets_the_fallback(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.chat_template = None
    assert ensure_template(tokenizer) == "fallback"
    assert tokenizer.chat_template == FALLBACK_TEMPLATE
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    ids, labels = encode_conversation(tokenizer, messages, 512)
    assert targets(tokenizer, ids, labels) == "hello<|im_end|>\n\n"
    assert prompt_part(tokenizer, ids, labels) == "User: hi\n\nAssistant: "


def test_padding_is_masked_in_a_batch(tiny_tokenizer):
    short = encode_conversation(
        tiny_tokenizer,
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
        512,
    )
    long = encode_conversation(
        tiny_tokenizer,
        [
            {"role": "user", "content": "a longer question"},
            {"role": "assistant", "content": "a longer answer"},
        ],
        512,
    )
    batch = _collate([short, long], tiny_tokenizer.pad_token_id, "cpu")
    width = len(long[0])
    assert batch["input_ids"].shape == (2, width)
    pad = width - len(short[0])
    assert batch["attention_mask"][0].tolist() == [1] * len(short[0]) + [0] * pad
    assert batch["labels"][0, len(short[0]) :].tolist() == [IGNORE_INDEX] * pad


def test_bad_examples_name_the_problem():
    with pytest.raises(DataFormatError, match="example 3: an example needs a `messages` list"):
        validate_messages({"text": "x"}, "example 3")
    with pytest.raises(DataFormatError, match="no assistant message"):
        validate_messages({"messages": [{"role": "user", "content": "q"}]}, "example 0")
    with pytest.raises(DataFormatError, match="bad message"):
        validate_messages({"messages": [{"role": "robot", "content": "q"}]}, "example 0")


def test_plan_batches_counts_epochs_accumulation_and_max_steps():
    steps = plan_batches(10, TrainOptions(batch_size=4, epochs=2, gradient_accumulation=2))
    micro = [mb for step in steps for mb in step]
    assert len(micro) == 6  # 3 micro-batches per epoch
    assert [len(step) for step in steps] == [2, 2, 2]
    assert sorted(i for mb in micro[:3] for i in mb) == list(range(10))
    assert len(plan_batches(10, TrainOptions(batch_size=4, epochs=0.5))) == 2
    assert len(plan_batches(10, TrainOptions(batch_size=1, epochs=3, max_steps=5))) == 5


def test_logits_only_at_target_positions_give_the_same_loss(tiny_model, tiny_tokenizer):
    import torch
    from nanoflux_peft.trainer import accepts_logits_to_keep, target_loss
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    assert accepts_logits_to_keep(model)
    rows = [
        encode_conversation(
            tiny_tokenizer,
            [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
            512,
        )
        for q, a in [("a short one", "yes"), ("a much longer question here", "a longer answer")]
    ]
    batch = _collate(rows, tiny_tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        full = target_loss(model, batch, sliced=False)
        sliced = target_loss(model, batch, sliced=True)
    assert float(sliced) == pytest.approx(float(full), rel=1e-5)
