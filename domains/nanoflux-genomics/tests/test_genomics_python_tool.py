"""The genomics pack's sandboxed ``python`` tool against the judge-tool contract.

Worked examples: the Rosalind REVC sample (AAAACCCGGT -> ACCGGGTTTT), through the pack's
own sequence functions as the tool's docstring promises, and the standard genetic code
(ATG GCC TAA: Met-Ala-stop).
"""

from __future__ import annotations

import pytest
from nanoflux_genomics.tools import python

from nanoflux.testing import JudgeToolContract, needs_sandbox


@needs_sandbox
class TestGenomicsPythonTool(JudgeToolContract):
    registered_as = "genomics.python"

    @pytest.fixture
    def tool(self):
        return python

    @pytest.fixture
    def cases(self):
        return [
            (
                {
                    "code": "from nanoflux_genomics.sequences import reverse_complement\n"
                    "def solution():\n    return reverse_complement('AAAACCCGGT')"
                },
                "ACCGGGTTTT",
            ),
            ({"code": "from Bio.Seq import Seq\nprint(Seq('ATGGCCTAA').translate())"}, "MA*"),
        ]
