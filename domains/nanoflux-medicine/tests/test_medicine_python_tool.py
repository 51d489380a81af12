"""The medicine pack's sandboxed ``python`` tool against the judge-tool contract.

Worked examples: BMI = weight / height^2 (WHO), 70 kg at 1.75 m = 22.86; mean arterial
pressure = diastolic + (systolic - diastolic) / 3, 120/80 mmHg = 93.33.
"""

from __future__ import annotations

import pytest
from nanoflux_medicine.tools import python

from nanoflux.testing import JudgeToolContract, needs_sandbox


@needs_sandbox
class TestMedicinePythonTool(JudgeToolContract):
    registered_as = "medicine.python"

    @pytest.fixture
    def tool(self):
        return python

    @pytest.fixture
    def cases(self):
        return [
            (
                {
                    "code": "from nanoflux_medicine.calculators import bmi\n"
                    "def solution():\n    return round(bmi(70, 1.75), 2)"
                },
                22.86,
            ),
            ({"code": "print(round(80 + (120 - 80) / 3, 2))"}, "93.33"),
        ]
