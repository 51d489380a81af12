"""Getting one JSON object out of a model's text, and checking it against a schema."""

from __future__ import annotations

import json
from typing import Any

from .errors import ModelOutputError


def extract_json_object(text: str) -> dict[str, Any]:
    """The first complete JSON object in ``text``; tolerates code fences and prose around it."""
    if not text or not text.strip():
        raise ModelOutputError("empty reply")
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    snippet = text.strip()[:80]
    raise ModelOutputError(f"no JSON object in reply: {snippet!r}")


def schema_errors(data: Any, schema: dict[str, Any]) -> list[str]:
    """Validation errors of ``data`` against a JSON schema, as short readable lines."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for error in validator.iter_errors(data):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return errors
