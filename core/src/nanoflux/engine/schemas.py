"""JSON schemas sent to the models, kept flat so llama.cpp's grammar can enforce them.

Field order is generation order: reasoning comes before the verdict it supports.
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string"}


def _text(max_length: int) -> dict[str, Any]:
    # llama.cpp's grammar enforces maxLength, which stops a tiny model's runaway strings.
    return {"type": "string", "minLength": 1, "maxLength": max_length}


_SCORE = {"type": "integer", "minimum": 1, "maximum": 5}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def question_schema(with_program: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "text": _text(800),
        "skill": _text(80),
        "hops": {"type": "integer", "minimum": 1, "maximum": 20},
        "solution_steps": {"type": "array", "items": _text(300), "minItems": 1, "maxItems": 12},
        "reference_answer": _text(120),
        "explanation": _text(400),
    }
    if with_program:
        properties["program"] = _text(1500)
    return _object(properties)


ANSWER_SCHEMA = _object({"reasoning": _text(1500), "final_answer": _text(120)})

SCORES_SCHEMA = _object(
    {
        "rationale": _text(400),
        "reference_correct": {"type": "boolean"},
        "defender_correct": {"type": "boolean"},
        "hops_real": {"type": "boolean"},
        "coherence": _SCORE,
        "safety": _SCORE,
        "reasoning_quality": {"type": "number", "minimum": 1, "maximum": 5},
    }
)
