"""The math pack against the core contracts, and its verification on real programs."""

from __future__ import annotations

import shutil

import pytest
from nanoflux_math import MathDomain
from nanoflux_math.tools import equivalent_tool, python, steps_tool

from nanoflux.plugins import PluginHost
from nanoflux.records import ToolEvidence
from nanoflux.sandbox import sandbox_unavailable_reason
from nanoflux.testing import DomainContract, JudgeToolContract

needs_sandbox = pytest.mark.skipif(
    shutil.which("bwrap") is None,  # installed by setup: then it must work
    reason=f"sandbox unavailable: {sandbox_unavailable_reason()}",
)


@pytest.fixture(scope="module")
def math_host() -> PluginHost:
    return PluginHost.load(allow=["math"])


@needs_sandbox
class TestMathDomain(DomainContract):
    registered_as = "math"

    @pytest.fixture
    def domain(self):
        return MathDomain()

    @pytest.fixture
    def host(self, math_host):
        return math_host

    @pytest.fixture
    def wrong_answer(self):
        return "315"  # revenue before costs: the classic slip on the example question


@needs_sandbox
class TestPythonTool(JudgeToolContract):
    registered_as = "math.python"

    @pytest.fixture
    def tool(self):
        return python

    @pytest.fixture
    def cases(self):
        return [
            # Gauss's schoolroom sum 1 + 2 + ... + 100 = n(n+1)/2 = 5050
            ({"code": "def solution():\n    return sum(range(1, 101))"}, 5050),
            # without solution(), the value is the stripped stdout
            ({"code": "print(2 ** 10)"}, "1024"),
            # sympy is importable: the golden ratio solves x^2 = x + 1
            (
                {
                    "code": "import sympy\nx = sympy.Symbol('x')\n"
                    "def solution():\n"
                    "    return max(sympy.solve(x**2 - x - 1, x), key=float)"
                },
                "1/2 + sqrt(5)/2",
            ),
        ]


class TestEquivalentTool(JudgeToolContract):
    registered_as = "math.equivalent"

    @pytest.fixture
    def tool(self):
        return equivalent_tool

    @pytest.fixture
    def cases(self):
        return [
            ({"a": "\\frac{3}{4}", "b": "0.75"}, True),  # 3/4 = 0.75 by definition
            ({"a": "1,234", "b": "1234"}, True),  # thousands separator
            ({"a": "2\\sqrt{3}", "b": "\\sqrt{12}"}, True),  # sqrt(12) = sqrt(4*3) = 2 sqrt(3)
            ({"a": "17", "b": "18"}, False),
        ]

    def assert_value(self, value, expected):
        assert value["equivalent"] is expected


class TestStepsTool(JudgeToolContract):
    registered_as = "math.steps"

    @pytest.fixture
    def tool(self):
        return steps_tool

    @pytest.fixture
    def cases(self):
        return [
            # the last number the worked steps state: 45 pencils, 9 each, 45 - 5 * 9 = 0
            ({"steps": ["6 + 15 + 24 = 45", "45 // 5 = 9", "45 - 5 * 9 = 0"]}, "0"),
            ({"steps": ["$20.00 - $8.50 = $11.50"]}, "11.50"),
            # steps with no arithmetic reach no number: they cannot confirm a reference
            ({"steps": ["Add the pencils.", "Divide them among the students."]}, "none"),
        ]


def test_steps_that_stop_short_of_the_reference_leave_it_unverified(math_host):
    from nanoflux.engine.judge import consulted_tools, gather_evidence, make_tool_caller

    domain = math_host.domain("math")
    question = domain.example_question()
    consulted = consulted_tools(math_host, "math")
    call = make_tool_caller(math_host)
    whole = gather_evidence(domain, question, call, consulted)
    assert whole.verified is True
    # steps that agree are consistent, not a confirmation: the program confirms
    steps = next(e for e in whole.evidence if e.tool == "math.steps")
    assert steps.supports_reference is None and "consistent with" in steps.note
    short = question.model_copy(update={"solution_steps": question.solution_steps[:-1]})
    verification = gather_evidence(domain, short, call, consulted)
    assert verification.verified is False
    assert any(
        e.tool == "math.steps" and e.supports_reference is False for e in verification.evidence
    )


def _gathered(host, question):
    """What the Judge gathers on ``question``: the pack names no tool, its tools apply."""
    from nanoflux.engine.judge import consulted_tools, gather_evidence, make_tool_caller

    consulted = consulted_tools(host, "math")
    return gather_evidence(host.domain("math"), question, make_tool_caller(host), consulted)


def test_the_pack_calls_no_tool_by_id_its_tools_apply_themselves(math_host):
    question = MathDomain().example_question()
    called = []

    def call_tool(tool_id, args):
        called.append(tool_id)
        return ToolEvidence(tool=tool_id, args=args, result=math_host.tools.get(tool_id).call(args))

    assert MathDomain().verify(question, call_tool).evidence == [] and called == []
    applying = [
        t.id for t in math_host.tools_for("math") if t.applies_to and t.applies_to(question)
    ]
    assert applying == ["math.python", "math.steps", "math.arithmetic"]


@needs_sandbox
def test_a_crashing_program_neither_confirms_nor_contradicts(math_host):
    question = (
        MathDomain()
        .example_question()
        .model_copy(update={"program": "def solution():\n    return 1 / 0\n"})
    )
    verification = _gathered(math_host, question)
    assert verification.verified is None
    (program,) = [e for e in verification.evidence if e.tool == "math.python"]
    assert "ZeroDivisionError" in program.note


def test_without_a_program_nothing_confirms(math_host):
    question = MathDomain().example_question().model_copy(update={"program": None})
    verification = _gathered(math_host, question)
    assert verification.verified is None
    # consistent, no more: the steps reach the reference and their arithmetic holds
    assert [e.tool for e in verification.evidence] == ["math.steps", "math.arithmetic"]


def test_an_unavailable_sandbox_is_refused_not_bypassed(math_host, monkeypatch):
    # a bwrap that does not exist: the tool must refuse, never run the code unsandboxed
    from nanoflux import sandbox

    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, "/nonexistent/bwrap")
    result = python.call({"code": "print('ran')"})
    assert result.ok is False
    assert "bubblewrap" in result.error
    question = MathDomain().example_question()
    assert _gathered(math_host, question).verified is None


def test_checker_with_choices():
    domain = MathDomain()
    choices = ["12", "3/4", "0.5"]
    assert domain.check_answer("B", "0.75", choices=choices)
    assert domain.check_answer("(b)", "\\frac{3}{4}", choices=choices)
    assert not domain.check_answer("B", "C", choices=choices)


@needs_sandbox
def test_bench_reports_its_keys():
    from nanoflux_math.bench import measure

    report = measure({"runs": "1"})
    assert report["math.python_runs"] == 1
    assert report["math.python_seconds_median"] > 0
    assert report["math.equivalent_numeric_per_second"] > 0
