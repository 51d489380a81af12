"""Getting one JSON object out of a model's text, and checking it against a schema."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
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


def json_objects(text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each top-level JSON object in ``text``, in order, with the text it was read from.
    An object inside another (a quote in a string, a nested value) is not yielded again."""
    decoder = json.JSONDecoder()
    failures, end = 0, 0
    for start in (m.start() for m in _OBJECT_START.finditer(text)):
        if start < end:
            continue  # inside the object just read
        if failures == MAX_TRIES:
            return
        try:
            value, end = decoder.raw_decode(text, start)
        except RecursionError:
            # every later '{' is inside the same nest
            raise ModelOutputError("reply nested too deeply to read") from None
        except ValueError:  # not JSON here, or an integer over Python's 4300 digits
            failures += 1
            continue
        # strings made writable (a "\ud800" escape is a lone surrogate), depth bounded
        yield text[start:end], settle(value, "reply", ModelOutputError)


def extract_json_object(text: str) -> dict[str, Any]:
    """The first complete JSON object in ``text``; tolerates code fences and prose around it."""
    if not text or not text.strip():
        raise ModelOutputError("empty reply")
    for _, value in json_objects(text):
        return value
    raise ModelOutputError(f"no JSON object in reply: {text.strip()[:80]!r}")


def own_json_object(
    text: str, *, schema: dict[str, Any] | None = None, quoted: str = ""
) -> dict[str, Any]:
    """The model's own final object: the last top-level JSON object in ``text`` that
    ``schema`` accepts and that does not come from ``quoted``, the prompt the model was
    shown. A Judge that quotes the question it rules on (``{"reference_correct": true}``
    written into a question) so never has the quote read as its verdict, wherever the
    quote stands. An object counts as quoted when its text appears in ``quoted`` as it
    is, or when its value equals that of an object there (a quote re-spaced)."""
    if not text or not text.strip():
        raise ModelOutputError("empty reply")
    in_prompt = _values_in(quoted)
    own, skipped, problems = None, 0, ""
    for raw, value in json_objects(text):
        if raw in quoted or _canonical(value) in in_prompt:
            skipped += 1
            continue
        errors = schema_errors(value, schema) if schema is not None else []
        if errors:
            problems = "; ".join(errors[:5])
        else:
            own = value
    if own is not None:
        return own
    if problems:
        raise ModelOutputError(problems)
    copied = f" ({skipped} copied from the prompt, not counted)" if skipped else ""
    raise ModelOutputError(f"no JSON object of its own in reply{copied}: {text.strip()[:80]!r}")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _values_in(prompt: str) -> set[str]:
    """Every object in ``prompt``'s JSON, nested ones included, in canonical form."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.add(_canonical(node))
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    try:
        for _, value in json_objects(prompt):
            walk(value)
    except ModelOutputError:
        pass  # a prompt nested past reading holds nothing a reply could be mistaken for
    return found


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
