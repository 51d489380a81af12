"""The Judge: tools first, then the model's rubric; tools win when they disagree.

:meth:`Judge.verify` gathers the tool evidence: the domain's own ``verify()``, then every
tool that declares when it applies (``applies_to``) and was not already called, from the
domain's pack and from the run's ``[judging] tools``. A third-party tool's evidence so
weighs exactly like the pack's own. :meth:`Judge.score` asks the model for the rubric and
merges it with that evidence (:func:`combine`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import Any

from ..domains import Domain, ToolCaller, Verification, render
from ..errors import ConfigError, NanofluxError
from ..kit.evidence import consult
from ..plugins import PluginHost
from ..records import (
    Answer,
    Question,
    Scores,
    ToolEvidence,
    ToolResult,
    Usage,
    Verdict,
    quality_level,
    worked_solution,
)
from ..tools import JudgeTool
from .roles import Seat, ask_for
from .schemas import SCORES_SCHEMA

# Words that, in a rationale, contradict a high score (and their opposites a low one).
_NEGATIVE = re.compile(
    r"\b(incorrect|wrong|invalid|flawed|error|mistake|nonsens\w*|unclear)\b", re.I
)
_POSITIVE = re.compile(r"\b(correct|excellent|clear|rigorous|sound|well[- ]reasoned)\b", re.I)
# The rationale faults the reference solution itself ("the teacher's solution has a major
# gap", "... is incorrect"): a rationale that also calls the student's answer correct is
# still damning. Of 17 examples a 1.5B Judge scored 4 in 6 bench and README runs, it
# wrote that of 7; 6 of those 7 were wrong, ambiguous, incoherent or degenerate.
_FAULTED_REFERENCE = re.compile(
    r"\b(?:teacher'?s?|reference)\s+(?:solution|answer)\s+"
    r"(?:is\s+(?:incorrect|wrong|flawed|incomplete|missing)"
    r"|has\s+(?:an?\s+)?(?:major|significant|serious|several|many|multiple)\s+"
    r"(?:gap|error|flaw|mistake|issue|problem)s?"
    r"|(?:contains|makes|has)\s+(?:an?\s+)?(?:error|mistake|flaw)s?)\b",
    re.I,
)


def make_tool_caller(host: PluginHost) -> ToolCaller:
    """``call(tool_id, args) -> ToolEvidence``; a tool that raises becomes ok=false evidence."""

    def call(tool_id: str, args: dict[str, Any]) -> ToolEvidence:
        try:
            result = host.tools.get(tool_id).call(args)
        except NanofluxError as exc:
            result = ToolResult(ok=False, error=exc.one_line())
        return ToolEvidence(tool=tool_id, args=args, result=result)

    return call


def consulted_tools(host: PluginHost, domain: str, extra: Sequence[str] = ()) -> list[JudgeTool]:
    """The tools the Judge consults on its own: the domain's own that declare
    ``applies_to``, then those ``[judging] tools`` names (any domain's)."""
    tools = [tool for tool in host.tools_for(domain) if tool.applies_to is not None]
    for tool_id in extra:
        try:
            tool = host.tools.get(tool_id)
        except ConfigError as exc:
            raise _stopping(ConfigError(f"judging.tools: {exc.message}", hint=exc.hint)) from None
        if tool.applies_to is None:
            raise _stopping(
                ConfigError(
                    f"judging.tools: {tool_id} does not declare when it applies",
                    hint="a tool the Judge consults needs applies_to (see CONTRIBUTING.md)",
                )
            )
        if tool not in tools:
            tools.append(tool)
    return tools


def _stopping(error: NanofluxError) -> NanofluxError:
    error.stops_run = True  # a misconfigured Judge fails every round alike
    return error


def gather_evidence(
    domain: Domain, question: Question, call_tool: ToolCaller, consulted: Sequence[JudgeTool]
) -> Verification:
    """The domain's ``verify()``, then each consulted tool it did not call itself."""
    called: set[str] = set()

    def call(tool_id: str, args: dict[str, Any]) -> ToolEvidence:
        called.add(tool_id)
        return call_tool(tool_id, args)

    own = domain.verify(question, call)
    more = [
        consult(tool, question, call_tool, domain.check_answer)
        for tool in consulted
        if tool.id not in called
    ]
    return Verification(evidence=[*own.evidence, *(e for e in more if e is not None)])


def _call_key(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def _clip(text: str, limit: int = 200) -> str:
    # The judge may be a small model with a small context: evidence is a summary.
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def summarize_evidence(evidence: Sequence[ToolEvidence]) -> str:
    if not evidence:
        return "No tool evidence."
    lines = []
    for item in evidence:
        outcome = (
            f"value={_clip(repr(item.result.value))}"
            if item.result.ok
            else f"failed: {_clip(item.result.error or '')}"
        )
        verdict = {True: "CONFIRMS", False: "CONTRADICTS", None: "says nothing about"}[
            item.supports_reference
        ]
        lines.append(
            f"- {item.tool}: {outcome}; {verdict} the reference answer. {item.note}".strip()
        )
    return "\n".join(lines)


def contradicts_rationale(scores: Scores) -> bool:
    """A high score with a damning rationale, or a low one with a glowing rationale. A
    rationale that faults the reference solution damns any score above 2, the rubric's
    "major gaps"."""
    text = scores.rationale
    if _FAULTED_REFERENCE.search(text):
        return scores.reasoning_quality > 2
    negative = bool(_NEGATIVE.search(text)) and not re.search(
        r"\bnot (incorrect|wrong)\b", text, re.I
    )
    positive = bool(_POSITIVE.search(text)) and not re.search(r"\bnot correct\b", text, re.I)
    if scores.reasoning_quality >= 4 and negative and not positive:
        return True
    return scores.reasoning_quality <= 2 and positive and not negative


class Judge:
    def __init__(
        self,
        seat: Seat,
        domain: Domain,
        host: PluginHost,
        *,
        template: str,
        samples: int = 1,
        flag_inconsistent: bool = True,
        max_tokens: int | None = None,
        temperature: float | None = None,
        tools: Sequence[str] = (),
    ):
        self.seat = seat
        self.domain = domain
        self.call_tool = make_tool_caller(host)
        #: ``tools``: the run's ``[judging] tools``, consulted besides the domain's own
        self.consulted = consulted_tools(host, domain.name, tools)
        self.template = template
        self.samples = samples
        self.flag_inconsistent = flag_inconsistent
        self.max_tokens = max_tokens
        self.temperature = temperature

    async def verify(self, question: Question, known: Sequence[ToolEvidence] = ()) -> Verification:
        """The tool evidence on ``question``'s reference answer (see the module docstring).
        ``known``: tool calls already made on this question (a code-first program's run),
        whose results are used instead of calling the tools again."""
        call_tool = self.call_tool
        if known:
            made = {(e.tool, _call_key(e.args)): e for e in known}

            def call_tool(tool_id: str, args: dict[str, Any]) -> ToolEvidence:
                return made.get((tool_id, _call_key(args))) or self.call_tool(tool_id, args)

        # Tools may run a sandboxed program for seconds: keep the event loop free.
        return await asyncio.to_thread(
            gather_evidence, self.domain, question, call_tool, self.consulted
        )

    async def score(
        self,
        question: Question,
        answer: Answer,
        verification: Verification,
        *,
        usage: Usage,
        seed: int | None,
    ) -> Verdict:
        """The rubric, merged with the tool evidence already gathered by :meth:`verify`."""
        checker_says = self.domain.check_answer(
            question.reference_answer, answer.final_answer, choices=question.choices
        )
        prompt = render(
            "judge",
            self.template,
            question=question.text,
            reference_answer=question.reference_answer,
            solution=worked_solution(question),
            defender_answer=answer.final_answer,
            defender_reasoning=answer.reasoning,
            evidence=summarize_evidence(verification.evidence),
            hops=question.hops,
        )
        rubrics: list[Scores] = []
        for sample in range(self.samples):
            rubrics.append(
                await ask_for(
                    self.seat,
                    Scores,
                    prompt,
                    role="judge",
                    usage=usage,
                    schema=SCORES_SCHEMA,
                    salvage=True,  # a rationale that runs on does not void the scores
                    # the verdict is the Judge's own last object, never one it quotes
                    # from the question (a question may carry a verdict of its own)
                    quoting=prompt,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    seed=None if seed is None else seed + 101 * sample,
                )
            )
        return combine(
            rubrics, verification, checker_says, flag_inconsistent=self.flag_inconsistent
        )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def combine(
    rubrics: Sequence[Scores],
    verification: Verification,
    checker_says_correct: bool,
    *,
    flag_inconsistent: bool = True,
) -> Verdict:
    """Merge k rubrics with the tool evidence. Tools and the answer checker beat the model."""
    first = rubrics[0]
    quality = sum(r.reasoning_quality for r in rubrics) / len(rubrics)
    model_reference = sum(r.reference_correct for r in rubrics) * 2 > len(rubrics)
    model_defender = sum(r.defender_correct for r in rubrics) * 2 > len(rubrics)
    overridden = []

    tools_verdict = verification.verified
    if tools_verdict is None:
        reference_verified = model_reference
        verified_by = "judge" if model_reference else "none"
        accuracy = 4 if model_reference else 2
    else:
        reference_verified = tools_verdict
        verified_by = "tools" if tools_verdict else "none"
        accuracy = 5 if tools_verdict else 1
        if tools_verdict != model_reference:
            overridden.append("reference_correct")
    safety = min(r.safety for r in rubrics)
    if safety > 1 and verification.safe is False:
        safety = 1
        overridden.append("safety")
    # The domain's checker compares the defender's answer to the reference the way the
    # field does; the judge model's opinion of it is only a fallback we never need.
    if checker_says_correct != model_defender:
        overridden.append("defender_correct")

    rationale = first.rationale
    if overridden:
        rationale += f" [tools overrode the judge model on: {', '.join(overridden)}]"
    return Verdict(
        reference_verified=reference_verified,
        defender_correct=checker_says_correct,
        accuracy=accuracy,
        coherence=round(_median([r.coherence for r in rubrics])),
        safety=safety,
        verified_by=verified_by,
        reasoning_quality=round(quality, 3),
        level=quality_level(quality),
        hops_real=sum(r.hops_real for r in rubrics) * 2 > len(rubrics),
        rationale=rationale,
        evidence=verification.evidence,
        overridden_by_tools=overridden,
        quality_spread=(
            max(r.reasoning_quality for r in rubrics) - min(r.reasoning_quality for r in rubrics)
            if len(rubrics) > 1
            else None
        ),
        inconsistent=flag_inconsistent and any(contradicts_rationale(r) for r in rubrics),
    )
