"""The contract every judge tool passes."""

from __future__ import annotations

import json

import pytest

from ..errors import UsageError
from ..kit.evidence import SafetyFinding
from ..records import Question, ToolResult
from ..tools import JudgeTool


class JudgeToolContract:
    """Supply ``tool`` and ``cases``: a list of ``(args, expected_value)`` worked examples
    whose expected values come from a textbook or a definition, not from the code.
    ``invalid_args`` is a dict the schema must reject. Override ``assert_value`` for
    tolerance. A tool that declares ``applies_to`` also supplies ``applies_cases``:
    ``(question, expected_args_or_None)``, at least one it applies to and one it does not."""

    #: the id the plugin registers this under; the meta-test checks that every
    #: installed id has a contract test that declares it
    registered_as: str | None = None

    @pytest.fixture
    def tool(self) -> JudgeTool:
        raise NotImplementedError("subclass the contract and supply a `tool` fixture")

    @pytest.fixture
    def cases(self) -> list[tuple[dict, object]]:
        raise NotImplementedError("supply worked examples as (args, expected)")

    @pytest.fixture
    def invalid_args(self) -> dict:
        return {"__no_such_argument__": 1}

    @pytest.fixture
    def applies_cases(self) -> list[tuple[Question, dict | None]]:
        return []

    def assert_value(self, value, expected):
        if isinstance(expected, float):
            assert value == pytest.approx(expected, rel=1e-3, abs=1e-6)
        else:
            assert value == expected

    def test_identity(self, tool):
        assert isinstance(tool, JudgeTool)
        assert self.registered_as, "declare registered_as: the tool's id"
        assert tool.id == self.registered_as
        assert tool.id.startswith(f"{tool.domain}.")
        assert tool.description

    def test_schema_is_json(self, tool):
        schema = tool.schema()
        assert schema["type"] == "object"
        json.dumps(schema)

    def test_worked_examples(self, tool, cases):
        assert cases, "a judge tool needs worked examples"
        for args, expected in cases:
            result = tool.call(args)
            assert isinstance(result, ToolResult)
            assert result.ok, (args, result.error)
            self.assert_value(result.value, expected)
            json.dumps(result.model_dump(mode="json"))

    def test_invalid_arguments_are_refused(self, tool, invalid_args):
        with pytest.raises(UsageError):
            tool.call(invalid_args)

    def test_safety_tools_report_a_finding(self, tool, cases):
        if tool.checks != "safety":
            return
        for args, _ in cases:
            SafetyFinding.model_validate(tool.call(args).value)

    def test_declares_when_it_applies(self, tool, applies_cases):
        """``applies_to`` gives arguments the tool accepts, or None; with ``applies_cases``,
        exactly the arguments expected."""
        if tool.applies_to is None:
            assert not applies_cases, "applies_cases given, but the tool has no applies_to"
            return
        for question, expected in applies_cases:
            assert tool.applies_to(question) == expected, question.text
        for question in [q for q, _ in applies_cases] + _SAMPLE_QUESTIONS:
            args = tool.applies_to(question)
            if args is not None:
                tool.parse_args(args)


_ASKED = Question(
    text="A deposit of 1000 dollars earns 5 % a year for 2 years. What is it worth?",
    hops=2,
    skill="arithmetic",
    reference_answer="1102.5",
    solution_steps=["1000 * 1.05 = 1050", "1050 * 1.05 = 1102.5"],
)
_SAMPLE_QUESTIONS = [
    _ASKED,
    _ASKED.model_copy(update={"program": "def solution():\n    return 1000 * 1.05**2\n"}),
    _ASKED.model_copy(update={"choices": ["1100", "1102.5"], "reference_answer": "B"}),
]
