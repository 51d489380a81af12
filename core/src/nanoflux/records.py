"""Records that cross a boundary: between roles, into files, between plugins.

All are pydantic models that reject unknown fields, so a typo in a config or a
model reply that invents keys is an error naming the field, not silent data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: the three seats of a round, in the order they play
ROLES = ("attacker", "defender", "judge")


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
    solution: str | None = Field(
        default=None,
        description="A worked solution in prose, the example's answer when set. Code-first "
        "rounds set it to the Judge's blind solve that reached the program's answer (and "
        "solution_steps to the program's computing lines).",
    )
    choices: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _count_hops(cls, data: Any) -> Any:
        # An Attacker not asked to declare its steps declares them by writing them.
        if isinstance(data, dict) and "hops" not in data:
            steps = data.get("solution_steps")
            if isinstance(steps, list) and steps:
                data = {**data, "hops": len(steps)}
        return data


def worked_solution(question: Question) -> str:
    """The solution a dataset example teaches and the Judge reviews."""
    if question.solution:
        return question.solution.strip()
    steps = "\n".join(question.solution_steps)
    return steps + (f"\n{question.explanation}" if question.explanation else "")


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
    safe: bool | None = Field(
        default=None,
        description="A safety screen's finding about the reference: False if it found it "
        "unsafe, True if it found nothing; None for a tool that does not screen safety.",
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
    #: the worked reference solution in plain text, filled by the domain's loader
    #: (GSM8K: the solution with its calculator annotations stripped); None when the
    #: benchmark carries none.
    solution: str | None = None
    #: a seed program that recomputes the answer, filled by the domain's loader (math:
    #: GSM8K's annotations read as a straight-line ``solution()``); None when none.
    program: str | None = None
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


# -- the run ledger ------------------------------------------------------------------
#
# A run directory holds two JSONL files of these records (see nanoflux.engine.run_store):
# candidates.jsonl, one Candidate per attempt, the ledger everything else is derived
# from; and dataset.jsonl, one Example per accepted candidate, in the chat shape that
# trainers read. Candidate lines carry ``schema_version``; lines without one were
# written before the schema was versioned (version 1) and still read.

#: the version of the Candidate lines this NanoFlux writes. 2 added candidate_id,
#: parent_id, turn and metadata (one line per attempt, several attempts per round);
#: 3 replaced the free-form metadata by typed ``findings`` and made ``reason`` a
#: :class:`Reason`. Older lines still read (their metadata becomes findings).
CANDIDATE_SCHEMA = 3


class Reason(StrEnum):
    """Why an attempt ended as it did: the one table of outcomes, decided by the policy
    (:mod:`nanoflux.engine.policy`). The values are what candidates.jsonl and stats.json
    hold."""

    ACCEPTED = "accepted"
    # free screens, before any model but the Attacker's
    COPIED_PROMPT = "copied_prompt"
    HOPS_OUT_OF_BAND = "hops_out_of_band"
    ILL_POSED = "ill_posed"
    # the novelty gate and this run's memory of rejected questions
    DUPLICATE = "duplicate"
    CONTAMINATED = "contaminated"
    REPEATS_REJECTED = "repeats_rejected"
    # tools, the Defender, the Judge's blind solve and rubric
    UNSAFE = "unsafe"
    UNVERIFIED = "unverified"
    DEFENDER_CORRECT = "defender_correct"
    DEFENDER_PASS_RATE = "defender_pass_rate"
    JUDGE_DISAGREES = "judge_disagrees"
    HOPS_NOT_REAL = "hops_not_real"
    JUDGE_INCONSISTENT = "judge_inconsistent"
    QUALITY_OUT_OF_BAND = "quality_out_of_band"
    # the dataset
    TARGET_REACHED = "target_reached"
    # failures: a role produced no record
    MALFORMED_ATTACKER = "malformed_attacker"
    MALFORMED_DEFENDER = "malformed_defender"
    MALFORMED_JUDGE = "malformed_judge"
    BACKEND_ERROR = "backend_error"
    ERROR = "error"


class Draft(Record):
    """A code-first Attacker's reply as written: the problem and its program."""

    text: str
    program: str


class Findings(Record):
    """What the round found out about an attempt on its way to a decision. Typed, because
    the ledger folds some of it back (the Defender's record, the Judge's blind solve);
    a field is written only when its check ran."""

    seed: str | None = Field(default=None, description="The seed item the attack built on.")
    draft: Draft | None = Field(default=None, description="A program that gave no answer.")
    problems: list[str] = Field(default_factory=list, description="The domain screen's.")
    completed: list[str] = Field(
        default_factory=list, description="What the domain wrote into the problem."
    )
    rejected_similarity: float | None = None
    tools_verdict: bool | None = None
    evidence: list[ToolEvidence] = Field(
        default_factory=list, description="The tools' evidence when it alone rejected."
    )
    defender_correct: bool | None = None
    pass_rate: float | None = None
    defender_answers: list[str] = Field(default_factory=list)
    judge_answer: str | None = None
    judge_agrees: bool | None = None
    judge_solution: str | None = Field(
        default=None,
        description="The blind solve's reasoning where it missed the reference, so that a "
        "reader sees whether the question or the solve went wrong (where it agrees, it is "
        "the example's solution).",
    )


class ExampleMetadata(BaseModel):
    """What a run knows about an example. Extra keys are kept: datasets from elsewhere
    (``nanoflux train DATASET``) may carry their own."""

    model_config = ConfigDict(extra="allow")

    domain: str | None = None
    hops: int | None = None
    skill: str | None = None
    quality: float | None = None
    level: str | None = None
    novelty: float | None = None
    reference_answer: str | None = None
    defender_answer: str | None = None
    defender_reasoning: str | None = None
    attacker: str | None = None
    defender: str | None = None
    round: int | None = None


class Example(Record):
    """One line of dataset.jsonl: a chat to train on. A run always sets ``id``."""

    id: str = ""
    messages: list[ChatMessage]
    metadata: ExampleMetadata | None = None

    def as_dict(self) -> dict[str, Any]:
        """The line as written: fields that were never set are left out."""
        return self.model_dump(mode="json", exclude_unset=True)


class NoveltyCheck(Record):
    verdict: str
    similarity: float
    nearest_id: str | None = None


class Candidate(Record):
    """One attempt of a round and what the commit decided about it."""

    schema_version: int = 1
    index: int = Field(ge=0, description="Position in candidates.jsonl, from 0.")
    round: int = Field(ge=0)
    candidate_id: str = Field(default="", description="Stable per attempt: ROUND.ATTEMPT.")
    parent_id: str | None = Field(
        default=None, description="The attempt this one rewrites or repairs."
    )
    turn: str = Field(default="attack", description="attack, repair, harder, ...")
    attacker: str
    defender: str
    question: Question | None = None
    answer: Answer | None = None
    verdict: Verdict | None = None
    novelty: NoveltyCheck | None = None
    decision: Literal["accepted", "rejected", "failed"]
    reason: Reason
    example_id: str | None = None
    example: Example | None = None
    usage: dict[str, Usage] = Field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    findings: Findings = Field(default_factory=Findings)

    @model_validator(mode="before")
    @classmethod
    def _read_older(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "schema_version" not in data:
            # Lines from before the schema was versioned were never validated when
            # written: keys this model does not know are dropped there, and refused in
            # later lines.
            data = {k: v for k, v in data.items() if k in cls.model_fields or k == "metadata"}
        if data.get("schema_version", 1) < 3 and "metadata" in data:
            # version 2's free-form metadata: what Findings knows becomes findings
            data = dict(data)
            metadata = data.pop("metadata") or {}
            data["findings"] = {k: v for k, v in metadata.items() if k in Findings.model_fields}
        if isinstance(data, dict) and not data.get("candidate_id") and "round" in data:
            data = {**data, "candidate_id": f"{data['round']}.0"}
        return data

    @model_validator(mode="after")
    def _accepted_with_its_question(self) -> Candidate:
        # what the ledger folds from an accepted attempt (the Attacker's recent questions)
        if self.accepted and self.question is None:
            raise ValueError("an accepted candidate needs its question")
        return self

    @property
    def accepted(self) -> bool:
        return self.decision == "accepted"

    def as_dict(self) -> dict[str, Any]:
        line = self.model_dump(mode="json")
        line["findings"] = self.findings.model_dump(mode="json", exclude_unset=True)
        if self.example is not None:
            line["example"] = self.example.as_dict()  # the very line dataset.jsonl gets
        return line


def quality_level(score: float) -> str:
    """The paper's L1-L5 bands: L1 < 1.5 <= L2 < 2.5 <= L3 < 3.5 <= L4 < 4.5 <= L5."""
    for level, upper in (("L1", 1.5), ("L2", 2.5), ("L3", 3.5), ("L4", 4.5)):
        if score < upper:
            return level
    return "L5"
