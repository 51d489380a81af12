"""Turning an accepted round into a dataset example with a stable id."""

from __future__ import annotations

import hashlib
import re

from ..records import Answer, ChatMessage, Example, ExampleMetadata, Question, Verdict


def example_id(domain: str, question_text: str) -> str:
    """Stable across runs and resumes: the same question always gets the same id."""
    normalized = re.sub(r"\s+", " ", question_text.strip().lower())
    return f"{domain}-{hashlib.sha256(normalized.encode()).hexdigest()[:12]}"


# "3.", "3)", "Step 3:" at the start of a step the Attacker numbered itself
_OWN_NUMBER = re.compile(r"^\s*(?:step\s*)?\d+\s*[.):]\s*", re.IGNORECASE)


def assistant_message(question: Question) -> str:
    final = f"Final answer: {question.reference_answer.strip()}"
    if question.solution:
        # a solve in the evaluation's own format; its last line may already say the answer
        text = question.solution.strip()
        last = _OWN_NUMBER.sub("", text.splitlines()[-1]).strip(" *") if text else ""
        # "4. Final answer: 60" says it too: the answer is not repeated under it
        return text if last.lower() == final.lower() else f"{text}\n\n{final}"
    steps = "\n".join(
        f"{number}. {_OWN_NUMBER.sub('', step).strip()}"
        for number, step in enumerate(question.solution_steps, 1)
    )
    parts = [steps]
    if question.explanation.strip():
        parts.append(question.explanation.strip())
    parts.append(final)
    return "\n\n".join(parts)


def build_example(
    question: Question,
    answer: Answer,
    verdict: Verdict,
    *,
    similarity: float,
    attacker: str,
    defender: str,
    round_index: int,
    pass_rate: float | None = None,
) -> Example:
    user = question.text.strip()
    if question.choices:
        letters = "ABCDEFGHIJ"
        user += "\n\n" + "\n".join(f"{letters[i]}. {c}" for i, c in enumerate(question.choices))
    return Example(
        id=example_id(question.domain, question.text),
        messages=[
            ChatMessage(role="user", content=user),
            ChatMessage(role="assistant", content=assistant_message(question)),
        ],
        metadata=ExampleMetadata(
            domain=question.domain,
            hops=question.hops,
            skill=question.skill,
            quality=verdict.reasoning_quality,
            level=verdict.level,
            novelty=round(similarity, 4),
            reference_answer=question.reference_answer,
            defender_answer=answer.final_answer,
            defender_reasoning=answer.reasoning,
            attacker=attacker,
            defender=defender,
            round=round_index,
            **({} if pass_rate is None else {"pass_rate": pass_rate}),
        ),
    )
