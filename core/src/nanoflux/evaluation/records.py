"""What an evaluation writes: one ItemResult per item, a ModelEval per model, a Comparison."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..records import Record
from .protocols import Protocol


class ItemResult(Record):
    """One benchmark item answered by one model."""

    id: str
    reference: str
    prediction: str | None = None
    correct: bool = False
    cause: str | None = Field(
        default=None,
        description="Why there is no usable answer: backend_error, timeout, "
        "malformed_output, checker_error ... (None when the model answered).",
    )
    error: str | None = None
    extraction: str | None = Field(
        default=None,
        description="How the answer was read: json, boxed, final_answer, answer_is, gsm8k, "
        "answer_line, or a declared fallback (last_number, last_choice).",
    )
    copied_prompt: bool = Field(
        default=False, description="The answer repeats an answer the prompt itself shows."
    )
    reasoning: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class Validity(Record):
    """Whether a result measures the model or a failure mode: parroting, format trouble."""

    identical_share: float = Field(description="Share of items with the most common prediction.")
    most_common: str | None = None
    malformed_share: float
    copied_share: float
    fallback_share: float = Field(description="Share read by the last-number/letter fallback.")
    truncated_share: float = Field(description="Share of replies cut by the token budget.")
    no_reasoning_share: float = Field(
        default=0.0,
        description="Share of answers given with no reasoning at all (an empty JSON "
        "reasoning field, or a free-text reply that is only the answer line).",
    )
    degenerate: bool
    warnings: list[str] = Field(default_factory=list)


class ModelEval(Record):
    model: str
    benchmark: str
    answer_format: str = Field(default="json", description="The protocol's name.")
    protocol: Protocol | None = Field(
        default=None,
        description="None in results written before protocols were recorded.",
    )
    n: int
    correct: int
    accuracy: float
    ci95: tuple[float, float]
    failures: dict[str, int] = Field(default_factory=dict)
    validity: Validity | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def headline(self) -> dict[str, Any]:
        """The result in a line of a table: accuracy, its interval, and whether it is valid."""
        return {
            "model": self.model,
            "n": self.n,
            "accuracy": self.accuracy,
            "ci95": list(self.ci95),
            "degenerate": bool(self.validity and self.validity.degenerate),
            "warnings": self.validity.warnings if self.validity else [],
        }


class Comparison(Record):
    """``model`` against ``baseline`` on the same items."""

    model: str
    baseline: str
    n: int
    accuracy: float
    baseline_accuracy: float
    delta: float
    delta_ci95: tuple[float, float] = Field(description="Paired bootstrap percentile interval.")
    model_only: int = Field(description="Items only the model got right (discordant).")
    baseline_only: int = Field(description="Items only the baseline got right (discordant).")
    p_value: float = Field(description="Exact McNemar, two-sided.")
    p_value_bootstrap: float
