"""Asking a server for JSON in the strongest way it accepts.

Servers differ: OpenAI, vLLM, SGLang and Ollama take ``json_schema``; llama.cpp's
Python server takes ``json_object`` with a ``schema`` (and enforces it by grammar);
some take only bare ``json_object``; some refuse ``response_format`` altogether. We
start at the strongest mode and step down when the server refuses (a 400/422 that
names response_format); the backend remembers where it landed. Below
``json_schema`` the schema also goes into the prompt, since the server no longer
tells the model what shape to write.
"""

from __future__ import annotations

import json
from typing import Any

MODES = ("json_schema", "json_object_schema", "json_object", "text")


def next_mode(mode: str) -> str | None:
    index = MODES.index(mode)
    return MODES[index + 1] if index + 1 < len(MODES) else None


def response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": schema, "strict": False},
        }
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def with_schema_instruction(
    messages: list[dict[str, Any]], schema: dict[str, Any]
) -> list[dict[str, Any]]:
    """The messages with the schema appended to the last user message."""
    instruction = (
        "\n\nReply with exactly one JSON object that matches this JSON schema, and nothing "
        f"else:\n{json.dumps(schema, separators=(',', ':'))}"
    )
    out = [dict(m) for m in messages]
    for message in reversed(out):
        if message["role"] == "user":
            message["content"] = message["content"] + instruction
            return out
    return [*out, {"role": "user", "content": instruction.strip()}]


def repair_messages(
    messages: list[dict[str, Any]], reply: str, problem: str
) -> list[dict[str, Any]]:
    """The follow-up that names what was wrong with the reply (one attempt)."""
    return [
        *messages,
        {"role": "assistant", "content": reply[:2000]},
        {
            "role": "user",
            "content": f"That reply was not valid: {problem}. Reply again with only the "
            "corrected JSON object, matching the schema.",
        },
    ]
