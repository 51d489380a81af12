"""Getting one JSON object out of a model's text, and checking it against a schema."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ModelOutputError
from .inputs import settle

#: what an answer in JSON is, flat and in generation order (the reasoning before the answer
#: it supports), both required so that llama.cpp's grammar cannot skip the reasoning
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "final_answer": {"type": "string"}},
    "required": ["reasoning", "final_answer"],
    "additionalProperties": False,
}

# where an object can start: '{' then '"' or '}' (LaTeX's \frac{1}{2} is not a candidate)
_OBJECT_START = re.compile(r"\{\s*[\"}]")
# each failed try costs time in proportion to its offset (the error locates its line):
# a reply of 100,000 '{"' would take minutes to search to the end
MAX_TRIES = 200


def extract_json_object(text: str) -> dict[str, Any]:
    """The first complete JSON object in ``text``; tolerates code fences and prose around it."""
    if not text or not text.strip():
        raise ModelOutputError("empty reply")
    decoder = json.JSONDecoder()
    for tries, start in enumerate(m.start() for m in _OBJECT_START.finditer(text)):
        if tries == MAX_TRIES:
            break
        try:
            value, _ = decoder.raw_decode(text, start)
        except RecursionError:
            # every later '{' is inside the same nest
            raise ModelOutputError("reply nested too deeply to read") from None
        except ValueError:  # not JSON here, or an integer over Python's 4300 digits
            continue
        # strings made writable (a "\ud800" escape is a lone surrogate), depth bounded
        return settle(value, "reply", ModelOutputError)
    snippet = text.strip()[:80]
    raise ModelOutputError(f"no JSON object in reply: {snippet!r}")


def structured_data(text: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The reply's JSON object if it validates against ``schema``, else (None, why): how a
    backend reads a structured completion without raising."""
    try:
        data = extract_json_object(text)
    except ModelOutputError as exc:
        return None, exc.message
    problems = schema_errors(data, schema)
    if problems:
        return None, "; ".join(problems[:5])
    return data, ""


def schema_errors(data: Any, schema: dict[str, Any]) -> list[str]:
    """Validation errors of ``data`` against a JSON schema, as short readable lines."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for error in validator.iter_errors(data):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return errors
