"""Turning chat messages into model text, the same way for training and for generation.

The tokenizer's own chat template is used when it has one; otherwise a plain
``User: ...`` / ``Assistant: ...`` template is installed on it, so a model trained
here is prompted at inference exactly as it was trained.
"""

from __future__ import annotations

from typing import Any

from nanoflux.errors import DataFormatError
from nanoflux.records import ChatMessage

IGNORE_INDEX = -100  # label of tokens the loss skips (prompt and padding)

# Newlines are written as expressions: chat templates render with trim_blocks, which
# would eat a literal newline after a block tag.
FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)

# end-of-turn markers of common chat formats, in addition to the tokenizer's eos
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")


def ensure_template(tokenizer) -> str:
    """'own' when the tokenizer brings a chat template, 'fallback' when we installed ours."""
    if getattr(tokenizer, "chat_template", None):
        return "own"
    tokenizer.chat_template = FALLBACK_TEMPLATE
    return "fallback"


def render(tokenizer, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
    ensure_template(tokenizer)
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=generation_prompt
    )


def encode_text(tokenizer, text: str) -> list[int]:
    # Special tokens are already spelled out in the rendered template text.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def validate_messages(example: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(example, dict) or not isinstance(example.get("messages"), list):
        raise DataFormatError(f"{where}: an example needs a `messages` list")
    try:
        messages = [ChatMessage.model_validate(m).model_dump() for m in example["messages"]]
    except Exception as exc:  # pydantic's message names the field
        raise DataFormatError(f"{where}: bad message: {str(exc).splitlines()[0]}") from exc
    if not any(m["role"] == "assistant" for m in messages):
        raise DataFormatError(f"{where}: no assistant message to learn from")
    return messages


def _segments(tokenizer, messages) -> list[tuple[str, bool]] | None:
    """(text, is_target) pieces whose concatenation is the rendered conversation."""
    pieces: list[tuple[str, bool]] = []
    rendered = ""
    for k, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prefix = render(tokenizer, messages[:k], generation_prompt=True)
        full = render(tokenizer, messages[: k + 1], generation_prompt=False)
        if not (prefix.startswith(rendered) and full.startswith(prefix)):
            return None
        pieces.append((prefix[len(rendered) :], False))
        pieces.append((full[len(prefix) :], True))
        rendered = full
    return pieces


def encode_conversation(
    tokenizer, messages: list[dict[str, str]], max_length: int
) -> tuple[list[int], list[int]]:
    """Token ids and labels: assistant tokens (with their end-of-turn marker) are the target,
    everything else is ``IGNORE_INDEX``. Truncated on the right to ``max_length``."""
    pieces = _segments(tokenizer, messages)
    if pieces is None:
        # Templates that rewrite earlier turns (e.g. dropping old reasoning) break the
        # prefix property; then only the last assistant turn is learned.
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        prefix = render(tokenizer, messages[:last], generation_prompt=True)
        full = render(tokenizer, messages[: last + 1], generation_prompt=False)
        if not full.startswith(prefix):
            raise DataFormatError("the chat template renders the prompt differently with an answer")
        pieces = [(prefix, False), (full[len(prefix) :], True)]
    ids: list[int] = []
    labels: list[int] = []
    for text, is_target in pieces:
        tokens = encode_text(tokenizer, text)
        ids += tokens
        labels += tokens if is_target else [IGNORE_INDEX] * len(tokens)
    return ids[:max_length], labels[:max_length]


def prompt_text(tokenizer, messages: list[dict[str, str]]) -> str:
    return render(tokenizer, messages, generation_prompt=True)


def stop_token_ids(tokenizer, model=None) -> set[int]:
    stops: set[int] = set()
    if tokenizer.eos_token_id is not None:
        stops.add(int(tokenizer.eos_token_id))
    config = getattr(model, "generation_config", None)
    configured = getattr(config, "eos_token_id", None)
    if isinstance(configured, int):
        stops.add(configured)
    elif configured:
        stops.update(int(i) for i in configured)
    vocab = tokenizer.get_vocab()
    stops.update(vocab[token] for token in END_OF_TURN if token in vocab)
    return stops
