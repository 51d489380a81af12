"""A new domain pack built on the kit is small and passes the domain contract.

The pack is ``tests/fixtures/nanoflux_interest``: no verify() of its own, no python tool
of its own, no benchmark reader of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nanoflux.plugins import PluginHost
from nanoflux.testing import DomainContract, needs_sandbox

FIXTURES = Path(__file__).parent / "fixtures"
PACK = FIXTURES / "nanoflux_interest"


@pytest.fixture(scope="module")
def interest_host():
    sys.path.insert(0, str(FIXTURES))
    try:
        import nanoflux_interest

        host = PluginHost.load(allow=[], extra=[("interest", nanoflux_interest)])
        assert not host.errors, host.errors
        yield host
    finally:
        sys.path.remove(str(FIXTURES))


def test_the_pack_is_under_150_lines_of_python():
    python = [p for p in PACK.rglob("*.py") if p.name != "tools.py"]
    lines = sum(len(p.read_text().splitlines()) for p in python)
    assert python and lines < 150, lines


def test_its_benchmark_reader_comes_from_the_kit(interest_host, tmp_path):
    data = tmp_path / "test.jsonl"
    data.write_text('{"question": "100 dollars at 10 % for a year?", "answer": 110}\n')
    (item,) = interest_host.domain("interest").loaders()["jsonl"](data)
    assert (item.id, item.answer) == ("interest-test-1", "110")


@needs_sandbox
class TestInterestPack(DomainContract):
    registered_as = "interest"

    @pytest.fixture
    def domain(self, interest_host):
        return interest_host.domain("interest")

    @pytest.fixture
    def host(self, interest_host):
        return interest_host

    @pytest.fixture
    def wrong_answer(self):
        return "1302.50"  # the 200 dollars left without interest
