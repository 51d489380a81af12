"""Turning an accepted round into a dataset example with a stable id."""

from __future__ import annotations

import hashlib
import re

from ..domains import choices_text
from ..records import Answer, ChatMessage, Example, ExampleMetadata, Question, Verdict


def example_id(domain: str, question_text: str) -> str:
    """Stable across runs and resumes: the same question always gets the same id."""
    normalized = re.sub(r"\s+", " ", question_text.strip().lower())
    return f"{domain}-{hashlib.sha256(normalized.encode()).hexdigest()[:12]}"


# "3.", "3)", "Step 3:" at the start of a step the Attacker numbered itself
_OWN_NUMBER = re.compile(r"^\s*(?:step\s*)?\d+\s*[.):]\s*", re.IGNORECASE)
# a closing line that states the answer itself: "Final answer: $279", "3. **Answer:** 5",
# "#### 18", "Final answer: Final answer: 5" (small models repeat the label), or a display
# block's lines under "**Final Answer:**" ("\\[", "\\boxed{5}", "\\]"); read after _OWN_NUMBER
_ANSWER_LINE = re.compile(
    r"^[*_\s]*(?:final\s+answer\b|answer\b|####)"
    r"|^\s*(?:\\\[|\\\]|\$\$|\\boxed\{[^{}]*\}\.?)\s*$",
    re.I,
)

_INLINE_LABEL = re.compile(r"final\s+answer\s*(?:is\s*)?[:：]\s*", re.I)


def with_final_answer(text: str, answer: str) -> str:
    """``text`` closed by the one canonical ``Final answer: X`` line. Its own answer line,
    written as the model pleased, gives way to it, so an example teaches one shape and
    never states the answer twice."""
    lines = text.strip().splitlines()
    while lines and (not lines[-1].strip() or _ANSWER_LINE.match(_OWN_NUMBER.sub("", lines[-1]))):
        lines.pop()
    if lines:
        # "7. So the area is \(Final answer: 30\)." keeps its words, not a second label
        lines[-1] = _INLINE_LABEL.sub("", lines[-1])
    final = f"Final answer: {answer.strip()}"
    body = "\n".join(lines).rstrip()
    return f"{body}\n\n{final}" if body else final


def assistant_message(question: Question) -> str:
    if question.solution:  # a solve in the evaluation's own format
        return with_final_answer(question.solution, question.reference_answer)
    steps = "\n".join(
        f"{number}. {_OWN_NUMBER.sub('', step).strip()}"
        for number, step in enumerate(question.solution_steps, 1)
    )
    parts = [steps]
    if question.explanation.strip():
        parts.append(question.explanation.strip())
    return with_final_answer("\n\n".join(parts), question.reference_answer)


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
        user += "\n\n" + choices_text(question.choices)
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
