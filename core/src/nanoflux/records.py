"""Records that cross a boundary: between roles, into files, between plugins.

All are pydantic models that reject unknown fields, so a typo in a config or a
model reply that invents keys is an error naming the field, not silent data.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatMessage(Record):
    role: Literal["system", "user", "assistant"]
    content: str


class Question(Record):
    """What the Attacker writes. ``program`` is untrusted code: run only in a sandbox."""

    text: str = Field(min_length=1, description="The question, self-contained.")
    domain: str = ""
    hops: int = Field(ge=1, le=20, description="Declared number of reasoning steps.")
    skill: str = Field(min_length=1, description="The skill or weakness it targets.")
    reference_answer: str = Field(min_length=1, description="The final answer, short.")
    solution_steps: list[str] = Field(min_length=1, description="Step-by-step solution.")
    explanation: str = ""
    program: str | None = Field(
        default=None, description="Optional program whose output is the answer."
    )
    choices: list[str] | None = None


class Answer(Record):
    """What the Defender replies."""

    reasoning: str = ""
    final_answer: str = Field(min_length=1)


class ToolResult(Record):
    """The outcome of one judge-tool call, as ``nanoflux tools call`` prints it."""

    ok: bool
    value: Any = None
    error: str | None = None
    seconds: float = 0.0


class ToolEvidence(Record):
    """A tool call the Judge made, and what it says about the reference answer."""

    tool: str
    args: dict[str, Any]
    result: ToolResult
    supports_reference: bool | None = Field(
        default=None,
        description="True if the tool confirms the reference answer, False if it "
        "contradicts it, None if it says nothing either way.",
    )
    note: str = ""


class Scores(Record):
    """The Judge model's rubric, 1-5 each."""

    reference_correct: bool
    defender_correct: bool
    coherence: int = Field(ge=1, le=5)
    safety: int = Field(ge=1, le=5)
    reasoning_quality: float = Field(ge=1, le=5)
    hops_real: bool = True
    rationale: str = ""


class Verdict(Record):
    """The Judge's decision on one round: tool evidence first, then the rubric."""

    reference_verified: bool
    verified_by: Literal["tools", "judge", "none"] = Field(
        default="none", description="Who confirmed the reference answer."
    )
    defender_correct: bool
    accuracy: int = Field(ge=1, le=5, description="Accuracy of the reference solution.")
    coherence: int = Field(ge=1, le=5)
    safety: int = Field(ge=1, le=5)
    reasoning_quality: float = Field(ge=1, le=5)
    level: str = Field(description="L1-L5 band of reasoning_quality.")
    hops_real: bool = True
    rationale: str = ""
    evidence: list[ToolEvidence] = Field(default_factory=list)
    overridden_by_tools: list[str] = Field(
        default_factory=list,
        description="Judgements where tool evidence overrode the judge model.",
    )
    quality_spread: float | None = Field(
        default=None, description="max-min reasoning quality when judged k>1 times"
    )
    inconsistent: bool = Field(default=False, description="Score contradicts its own rationale.")


class BenchmarkItem(Record):
    """One benchmark question, normalised across formats."""

    id: str
    question: str
    answer: str
    choices: list[str] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Usage(Record):
    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add(self, other: Usage) -> None:
        for name in type(self).model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def quality_level(score: float) -> str:
    """The paper's L1-L5 bands: L1 < 1.5 <= L2 < 2.5 <= L3 < 3.5 <= L4 < 4.5 <= L5."""
    for level, upper in (("L1", 1.5), ("L2", 2.5), ("L3", 3.5), ("L4", 4.5)):
        if score < upper:
            return level
    return "L5"
