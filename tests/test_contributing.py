"""The custom judge tool in CONTRIBUTING.md works exactly as written there."""

import re
import sys
from pathlib import Path

import pytest

from nanoflux.plugins import PluginHost
from nanoflux.records import Question
from nanoflux.testing import JudgeToolContract

ROOT = Path(__file__).resolve().parents[1]


def contributing_example() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "judge_tool(" in b]
    return block


@pytest.fixture(scope="module")
def finance_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example")
    (folder / "nanoflux_finance.py").write_text(contributing_example())
    sys.path.insert(0, str(folder))
    try:
        import nanoflux_finance

        yield nanoflux_finance
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("nanoflux_finance", None)


@pytest.fixture
def host(finance_module):
    return PluginHost.load(allow=[], extra=[("finance", finance_module)])


def test_the_example_registers_and_runs(host):
    assert not host.errors
    tool = host.tools.get("finance.compound_interest")
    # Worked example: $1500 at 4.3 % compounded quarterly for 6 years is $1938.84
    # (the standard textbook compound-interest example).
    result = tool.call({"principal": 1500, "annual_rate": 0.043, "years": 6, "periods_per_year": 4})
    assert result.ok and result.value == pytest.approx(1938.84)


class TestFinanceToolContract(JudgeToolContract):
    registered_as = "finance.compound_interest"

    @pytest.fixture
    def tool(self, host):
        return host.tools.get("finance.compound_interest")

    @pytest.fixture
    def cases(self):
        return [
            # 1000 at 5 % yearly for 10 years: 1000 * 1.05**10 = 1628.89
            ({"principal": 1000, "annual_rate": 0.05, "years": 10}, 1628.89),
            # 100 at 0 %: unchanged
            ({"principal": 100, "annual_rate": 0.0, "years": 3}, 100.0),
        ]

    @pytest.fixture
    def invalid_args(self):
        return {"principal": -5, "annual_rate": 0.05, "years": 1}

    @pytest.fixture
    def applies_cases(self):
        asked = Question(
            text="Ben leaves 2,000 dollars at 6 % compounded monthly for 2.5 years. "
            "What is the account worth then?",
            hops=2,
            skill="compound_interest",
            reference_answer="2322.80",
            solution_steps=["2000 * (1 + 0.06 / 12) ** 30 = 2322.80"],
        )
        interest_only = asked.model_copy(
            update={
                "text": asked.text.replace(
                    "What is the account worth then?", "How much interest does it earn?"
                )
            }
        )
        arguments = {"principal": 2000.0, "annual_rate": 0.06, "years": 2.5, "periods_per_year": 12}
        return [(asked, arguments), (interest_only, None)]
