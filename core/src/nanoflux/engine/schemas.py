"""JSON schemas sent to the models, kept flat so llama.cpp's grammar can enforce them.

Field order is generation order: reasoning comes before the verdict it supports.
"""

from __future__ import annotations

from typing import Any

# No maxLength: llama.cpp unrolls it into one grammar rule per character and refuses
# long ones. A runaway string is bounded by max_tokens and recorded as cut off.
_STRING = {"type": "string"}


_SCORE = {"type": "integer", "minimum": 1, "maximum": 5}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def question_schema(with_program: bool, answer_pattern: str | None = None) -> dict[str, Any]:
    """What the Attacker writes, in the order it writes it: the problem, its worked steps
    and answer, then (where the domain runs programs) the program that recomputes the
    answer and is its ground truth. Written after the code, a 1.5B model's answer field
    filled with code fragments ("]obj['reference_answer']}"), so the code comes last. The
    skill and the number of steps are not asked for: the round sets the skill it targets,
    and the steps count themselves (every token costs on a small CPU model).
    ``answer_pattern``: a domain's shape of an answer, which the grammar enforces."""
    properties: dict[str, Any] = {
        "text": _STRING,
        "solution_steps": {"type": "array", "items": _STRING, "minItems": 1, "maxItems": 12},
        "reference_answer": _STRING
        if answer_pattern is None
        else {"type": "string", "pattern": answer_pattern},
    }
    if with_program:
        properties["program"] = _STRING
    return _object(properties)


# The rationale comes last: a 1.5B Judge wrote it past its token budget, and a reply
# cut inside its last string can still be read (see roles.salvage_last_string).
SCORES_SCHEMA = _object(
    {
        "reference_correct": {"type": "boolean"},
        "defender_correct": {"type": "boolean"},
        "hops_real": {"type": "boolean"},
        "coherence": _SCORE,
        "safety": _SCORE,
        "reasoning_quality": {"type": "number", "minimum": 1, "maximum": 5},
        "rationale": _STRING,
    }
)
