"""Reading a judge tool's result as evidence about a question's reference answer.

What a tool says is one of two things (:attr:`nanoflux.tools.JudgeTool.checks`): the
answer to the question, compared with the reference by the domain's own checker
(:func:`compared`), or a safety screen's finding (:func:`screened`). Domain packs and the
Judge read results the same way, so a third-party tool's evidence weighs like a pack's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field, ValidationError

from ..answers import choice_index, options_for
from ..domains import ToolCaller
from ..records import Question, Record, ToolEvidence, ToolResult
from ..tools import JudgeTool

SameAnswer = Callable[..., bool]
"""``same(reference, candidate, choices=...) -> bool``: a domain's ``check_answer``."""


class SafetyFinding(Record):
    """What a safety tool (``checks="safety"``) returns."""

    safe: bool
    flags: list[str] = Field(default_factory=list)


def noted(
    evidence: ToolEvidence, supports: bool | None, note: str, *, safe: bool | None = None
) -> ToolEvidence:
    """``evidence`` with what it says about the reference (and about safety) written down."""
    update: dict[str, Any] = {"supports_reference": supports, "note": note}
    if safe is not None:
        update["safe"] = safe
    return evidence.model_copy(update=update)


def as_text(value: Any) -> str:
    """A tool's value as an answer is written: 3.0 as 3, a list as ``a, b``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(as_text(v) for v in value)
    return str(value)


def compared(evidence: ToolEvidence, question: Question, same: SameAnswer) -> ToolEvidence:
    """An answer tool's evidence: its value equals the reference (confirms) or not
    (contradicts). A failed tool, or one with no value, says nothing either way."""
    result = evidence.result
    if not result.ok:
        return noted(evidence, None, f"{evidence.tool} failed: {result.error}")
    if result.value is None or str(result.value).strip() == "":
        return noted(evidence, None, f"{evidence.tool} produced no answer")
    computed = as_text(result.value)
    agrees = bool(same(question.reference_answer, computed, choices=question.choices))
    if question.choices and not agrees:
        # a program of a multiple-choice question computes its key option's value
        keys = options_for(computed, question.choices, same)
        agrees = keys == [choice_index(question.reference_answer, question.choices)]
    verb = "equals" if agrees else "differs from"
    return noted(evidence, agrees, f"{evidence.tool} gives {computed}, which {verb} the reference")


def screened(evidence: ToolEvidence) -> ToolEvidence:
    """A safety tool's evidence. Unsafe content also contradicts the reference: an answer
    that recommends harm is not a correct answer, whatever it computes."""
    result = evidence.result
    if not result.ok:
        return noted(evidence, None, f"{evidence.tool} failed: {result.error}")
    try:
        finding = SafetyFinding.model_validate(result.value)
    except ValidationError:
        return noted(evidence, None, f"{evidence.tool} returned no {{safe, flags}} finding")
    if finding.safe:
        return noted(evidence, None, "no red flags in the reference", safe=True)
    return noted(evidence, False, f"UNSAFE reference: {'; '.join(finding.flags)}", safe=False)


def check_program(
    question: Question, call_tool: ToolCaller, tool_id: str, same: SameAnswer
) -> list[ToolEvidence]:
    """Run the question's program with ``tool_id`` (a :func:`~nanoflux.kit.python_tool`)
    and compare its value with the reference; no program, no evidence."""
    if not question.program:
        return []
    return [compared(call_tool(tool_id, {"code": question.program}), question, same)]


def consult(
    tool: JudgeTool, question: Question, call_tool: ToolCaller, same: SameAnswer
) -> ToolEvidence | None:
    """What ``tool`` says about ``question``'s reference, if it applies (``applies_to``)."""
    try:
        args = tool.applies_to(question) if tool.applies_to else None
    except Exception as exc:  # a plugin's bug: shown as failed evidence, the round goes on
        return ToolEvidence(
            tool=tool.id,
            args={},
            result=ToolResult(ok=False, error=f"applies_to raised {type(exc).__name__}: {exc}"),
            note=f"{tool.id} could not tell whether it applies",
        )
    if args is None:
        return None
    evidence = call_tool(tool.id, args)
    if tool.checks == "safety":
        return screened(evidence)
    evidence = compared(evidence, question, same)
    if tool.checks == "consistency" and evidence.supports_reference:
        # agreeing with the reference's own author confirms nothing
        return noted(evidence, None, evidence.note.replace("which equals", "consistent with"))
    return evidence
