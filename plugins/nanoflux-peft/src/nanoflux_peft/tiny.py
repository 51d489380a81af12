"""A tiny Llama model with its own tokenizer, built locally in about a second.

Tests (and anyone trying the plugin without waiting for a real model) use it: no
download, a few hundred thousand parameters, a ChatML chat template. Its replies are
gibberish until it is trained; that is enough to exercise every code path for real.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "What is 12 + 30? Let me add the numbers step by step. Final answer: 42",
    '{"reasoning": "The sum is computed.", "final_answer": "7"}',
    "user assistant system Reply with one JSON object only, with the keys",
    "Question: how many apples are left after eating three of ten? Answer: seven",
    "The quick brown fox jumps over the lazy dog 0 1 2 3 4 5 6 7 8 9 .",
]


def build_tiny_model(
    folder: Path, *, vocab_size: int = 400, hidden: int = 64, layers: int = 2, seed: int = 0
) -> Path:
    """Write a random LlamaForCausalLM and a byte-level BPE tokenizer to ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        CORPUS * 4,
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(folder))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
        # A wider init than the default 0.02: with the final norm frozen, logits of a
        # hidden-64 model could otherwise never become confident, whatever LoRA learns.
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder
