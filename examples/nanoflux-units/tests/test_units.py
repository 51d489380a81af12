"""The units pack against the contracts: its domain and each tool it registers."""

from pathlib import Path

import pytest
from nanoflux_units import UnitsDomain, convert

from nanoflux.domains import load_benchmark
from nanoflux.plugins import PluginHost
from nanoflux.records import Question
from nanoflux.testing import DomainContract, JudgeToolContract, needs_sandbox

SAMPLE = f"units:jsonl:{Path(__file__).parents[1] / 'data' / 'sample.jsonl'}"


@pytest.fixture(scope="module")
def units_host():
    return PluginHost.load(allow=["units"])  # the installed entry point, and no other plugin


@needs_sandbox
class TestUnitsDomain(DomainContract):
    registered_as = "units"

    @pytest.fixture
    def domain(self):
        return UnitsDomain()

    @pytest.fixture
    def host(self, units_host):
        return units_host

    @pytest.fixture
    def wrong_answer(self):
        return "7.5"  # miles per hour: the miles never converted


@needs_sandbox
class TestUnitsPython(JudgeToolContract):
    registered_as = "units.python"

    @pytest.fixture
    def tool(self, units_host):
        return units_host.tools.get("units.python")

    @pytest.fixture
    def cases(self):
        return [({"code": "def solution():\n    return 3 * 1.609344\n"}, 4.828032)]


class TestUnitsConvert(JudgeToolContract):
    registered_as = "units.convert"

    @pytest.fixture
    def tool(self):
        return convert

    @pytest.fixture
    def cases(self):
        # exact by definition: 1 mile = 1609.344 m, 1 pound = 0.45359237 kg
        return [
            ({"amount": 3, "source": "miles", "target": "kilometres"}, 4.828032),
            ({"amount": 1, "source": "kilograms", "target": "pounds"}, 2.20462262),
        ]

    @pytest.fixture
    def invalid_args(self):
        return {"amount": "three", "source": "miles", "target": "kilometres"}

    @pytest.fixture
    def applies_cases(self):
        asked = Question(
            text="Convert 3 miles to kilometres.",
            hops=1,
            skill="length",
            reference_answer="4.83",
            solution_steps=["3 x 1.609344 = 4.83"],
        )
        runner = UnitsDomain().example_question()
        return [(asked, {"amount": 3.0, "source": "miles", "target": "kilometres"}), (runner, None)]


def test_a_conversion_across_dimensions_fails():
    result = convert.call({"amount": 3, "source": "miles", "target": "litres"})
    assert not result.ok and "cannot convert miles (length) to litres (volume)" in result.error


def test_the_sample_benchmark_reads(units_host):
    items = load_benchmark(units_host, SAMPLE)
    assert [(item.id, item.answer) for item in items[:2]] == [
        ("units-sample-1", "4.83"),
        ("units-sample-2", "2000"),
    ]
