"""genomics.arithmetic: each calculation of a sequence problem's worked solution holds.
The solutions are written as a blind solve writes them; the expected slips are worked by
hand in the comments."""

from __future__ import annotations

import pytest
from nanoflux_genomics import GenomicsDomain
from nanoflux_genomics.tools import arithmetic

from nanoflux.plugins import PluginHost
from nanoflux.records import Question, ToolEvidence
from nanoflux.testing import JudgeToolContract

GC = """Step 1: The reverse complement of 5'-GAGATCATAACCCCTCAT-3' is 5'-ATGAGGGGTTATGATCTC-3'.
Step 2: Count G and C: G = 5, C = 3, so G + C = 8.
Step 3: GC content = 8 / 18 × 100 = 44.44% ≈ 44.4%"""
WALLACE = """A = 4, T = 5, G = 4, C = 3.
Tm = 2(A+T) + 4(G+C) = 2(9) + 4(7) = 18 + 28 = 46°C
46 - 40 = 6 °C above 40 °C"""
IDENTITY = """The reads differ at positions 5, 8 and 13: a Hamming distance of 3.
Identity = (20 - 3)/20 × 100% = 85%"""


class TestArithmeticTool(JudgeToolContract):
    registered_as = "genomics.arithmetic"

    @pytest.fixture
    def tool(self):
        return arithmetic

    @pytest.fixture
    def cases(self):
        return [
            ({"solution": GC}, None),
            ({"solution": WALLACE}, None),
            ({"solution": IDENTITY}, None),
            # 8 / 18 is 0.4444: 44.4%, not 45.4%
            ({"solution": GC.replace("44.44% ≈ 44.4%", "45.4%")}, "45.4%: 8 / 18 × 100 is 44.44"),
            # 2 x 9 + 4 x 7 = 18 + 28 = 46, not 48
            ({"solution": WALLACE.replace("= 46°C", "= 48°C")}, "48: 18 + 28 is 46"),
        ]

    @pytest.fixture
    def applies_cases(self):
        question = _question(GC)
        return [(question, {"solution": GC}), (question.model_copy(update={"solution": ""}), None)]


def _question(solution, reference="44.4"):
    return Question(
        text=(
            "A PCR primer has the sequence 5'-GAGATCATAACCCCTCAT-3'. What is the GC content "
            "of its reverse complement, as a percentage rounded to one decimal place?"
        ),
        domain="genomics",
        hops=2,
        skill="gc_content",
        reference_answer=reference,
        solution_steps=[" "],
        solution=solution,
    )


def test_a_solution_that_slips_leaves_its_reference_contradicted():
    from nanoflux.engine.judge import consulted_tools, gather_evidence

    host = PluginHost.load(allow=["genomics"])

    def call(tool_id, args):
        return ToolEvidence(tool=tool_id, args=args, result=host.tools.get(tool_id).call(args))

    consulted = consulted_tools(host, "genomics")
    slipped = _question(GC.replace("44.44% ≈ 44.4%", "45.4% ≈ 44.4%"))
    gathered = gather_evidence(GenomicsDomain(), slipped, call, consulted)
    (evidence,) = [e for e in gathered.evidence if e.tool == "genomics.arithmetic"]
    assert evidence.supports_reference is False and "45.4%" in evidence.note
    assert gathered.verified is False
    right = gather_evidence(GenomicsDomain(), _question(GC), call, consulted)
    assert all(e.supports_reference is not False for e in right.evidence)
