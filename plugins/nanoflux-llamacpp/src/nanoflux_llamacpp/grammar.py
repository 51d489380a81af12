"""The JSON schema handed to llama.cpp's grammar builder.

llama.cpp's schema-to-grammar converter ignores ``minimum``/``maximum``, so a small
model asked for a 1-5 score can write 0 or 7 and fail validation. A bounded integer
with a short range becomes an ``enum`` of its values, which the grammar does enforce.
Replies are still validated against the schema the caller sent.
"""

from __future__ import annotations

from typing import Any

MAX_ENUM_RANGE = 64


def _bounded_integer(node: dict[str, Any]) -> list[int] | None:
    if node.get("type") != "integer" or "enum" in node:
        return None
    low, high = node.get("minimum"), node.get("maximum")
    if "exclusiveMinimum" in node:
        low = node["exclusiveMinimum"] + 1
    if "exclusiveMaximum" in node:
        high = node["exclusiveMaximum"] - 1
    if not isinstance(low, int) or not isinstance(high, int):
        return None
    if high < low or high - low >= MAX_ENUM_RANGE:
        return None
    return list(range(low, high + 1))


def grammar_schema(schema: Any) -> Any:
    """A copy of ``schema`` with short integer ranges spelled out as enums."""
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    values = _bounded_integer(schema)
    if values is not None:
        kept = {
            k: v
            for k, v in schema.items()
            if k not in {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
        }
        return {**kept, "enum": values}
    return {key: grammar_schema(value) for key, value in schema.items()}
