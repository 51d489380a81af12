"""The contract every judge tool passes."""

from __future__ import annotations

import json

import pytest

from ..errors import UsageError
from ..records import ToolResult
from ..tools import JudgeTool


class JudgeToolContract:
    """Supply ``tool`` and ``cases``: a list of ``(args, expected_value)`` worked examples
    whose expected values come from a textbook or a definition, not from the code.
    ``invalid_args`` is a dict the schema must reject. Override ``assert_value`` for
    tolerance."""

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
