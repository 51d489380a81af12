"""math.arithmetic on worked solutions as the Judge's blind solve writes them ("Step 1:
5 × 12 = 60" lines, money, unit conversions, percentages, rounding), and on the 1,000
GSM8K solutions the pack ships."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from nanoflux_math import MathDomain
from nanoflux_math.tools import arithmetic

from nanoflux.kit import arithmetic_slips, calculations_written
from nanoflux.kit.arithmetic import NO_WORK
from nanoflux.plugins import PluginHost
from nanoflux.records import ToolEvidence
from nanoflux.testing import JudgeToolContract

SOLVES = {
    "bakery": """Step 1: Cookies sold = 2 × 45 = 90
Step 2: Muffin revenue = 45 × 3 = $135
Step 3: Cookie revenue = 90 × 2 = $180
Step 4: Profit = 135 + 180 - 60 = $255""",
    "markdown": """1. **Muffins:** 45 muffins * $3 = $135
2. **Cookies:** 90 cookies * $2 = $180
3. **Profit:** $135 + $180 - $60 = **$255**""",
    "latex": "We compute \\( 12 \\times 4 = 48 \\). Then \\( 48 \\div 6 = 8 \\).\n"
    "\\[ \\boxed{8} \\]",
    "minutes": """Step 1: 2.5 hours × 60 = 150 minutes
Step 2: 150 - 45 = 105 minutes
Step 3: 105 / 60 = 1.75 hours""",
    "shop": """Step 1: Discount = 20% × $80 = $16
Step 2: Sale price = $80 - $16 = $64
Step 3: Tax = 8% of $64 = $5.12
Step 4: Total = $64 + $5.12 = $69.12""",
    "tiles": """Step 1: Area = 7.5 × 7.5 = 56.25 ≈ 56 square feet
Step 2: Boxes = 56.25 / 4 = 14.0625, so 15 boxes""",
    "speed": """Total distance = 60 × 2 + 40 × 3 = 120 + 120 = 240 km
Total time = 2 + 3 = 5 hours
Average speed = 240 / 5 = 48 km/h""",
    "fraction": "3/4 of 24 = 18 students\n24 - 18 = 6 students",
    "increase": "Increase = (60 - 48) / 48 × 100 = 25%",
    "thirds": "Each share is 100 / 3 = 33.33 dollars, or 33.333... exactly",
}
# each a solve above with one slip, and the slip as the tool names it (worked by hand)
SLIPPED = [
    ("bakery", "= $180", "= $170", "170: 90 × 2 is 180"),
    ("markdown", "**$255**", "**$265**", "265: 135 + 180 - 60 is 255"),
    ("latex", "= 48 \\)", "= 46 \\)", "46: 12 × 4 is 48"),
    ("minutes", "= 1.75 hours", "= 1.57 hours", "1.57: 105 / 60 is 1.75"),
    ("shop", "= $5.12", "= $5.21", "5.21: 8% × 64 is 5.12"),
    ("tiles", "= 56.25 ≈", "= 52.25 ≈", "52.25: 7.5 × 7.5 is 56.25"),
    ("speed", "= 240 km", "= 230 km", "230: 120 + 120 is 240"),
    ("increase", "= 25%", "= 20%", "20%: (60 - 48) / 48 × 100 is 25"),
]


@pytest.mark.parametrize("name", list(SOLVES))
def test_a_blind_solves_correct_arithmetic_is_no_slip(name):
    assert arithmetic_slips(SOLVES[name]) == []


@pytest.mark.parametrize(("name", "old", "new", "slip"), SLIPPED)
def test_a_slip_in_a_blind_solve_is_named(name, old, new, slip):
    assert old in SOLVES[name]
    assert [str(s) for s in arithmetic_slips(SOLVES[name].replace(old, new))] == [slip]


def test_the_packs_gsm8k_solutions_hold_and_gsm8ks_own_slip_is_caught():
    """The training solutions shipped as seeds, their annotations dropped: none is flagged.
    Of the 1,000 drawn, one miscounted (4 + 4 + 6 is 14, which is its answer); it is not
    among the 811 fit to show, and it is caught."""
    seeds = resources.files("nanoflux_math").joinpath("seeds", "gsm8k-train-811.jsonl")
    flagged = {}
    for line in filter(None, seeds.read_text("utf-8").split("\n")):  # not at U+2028
        record = json.loads(line)
        slips = arithmetic_slips(record["answer"].rsplit("####", 1)[0])
        if slips:
            flagged[record["answer"].rsplit("####", 1)[1].strip()] = [str(s) for s in slips]
    assert flagged == {}
    # and each writes its calculations down, as math.arithmetic asks of an example
    answers = [
        json.loads(line)["answer"] for line in filter(None, seeds.read_text("utf-8").split("\n"))
    ]
    assert all(calculations_written(a.rsplit("####", 1)[0]) for a in answers)
    gsm8ks = "She has 4+4+6 = 18 pencils."
    assert [str(s) for s in arithmetic_slips(gsm8ks)] == ["18: 4+4+6 is 14"]


class TestArithmeticTool(JudgeToolContract):
    registered_as = "math.arithmetic"

    @pytest.fixture
    def tool(self):
        return arithmetic

    @pytest.fixture
    def cases(self):
        return [
            ({"solution": SOLVES["bakery"]}, None),
            # 90 cookies at 2 dollars are 180 dollars
            ({"solution": SOLVES["bakery"].replace("$180", "$170")}, "170: 90 × 2 is 180"),
            # a solve that names its steps and works none out teaches nothing
            (
                {"solution": "1. Add the apples.\n2. Take away the eaten ones.\nFinal answer: 7"},
                NO_WORK,
            ),
        ]

    @pytest.fixture
    def applies_cases(self):
        question = MathDomain().example_question()
        solved = question.model_copy(update={"solution": SOLVES["bakery"]})
        return [
            (question, {"solution": "\n".join(question.solution_steps)}),
            (solved, {"solution": SOLVES["bakery"]}),
        ]


def test_a_solve_that_slips_leaves_the_example_unverified():
    from nanoflux.engine.judge import consulted_tools, gather_evidence

    host = PluginHost.load(allow=["math"])

    def call(tool_id, args):
        if tool_id == "math.python":  # the program's run is not this test's business
            return ToolEvidence(tool=tool_id, args=args, result={"ok": True, "value": 255})
        return ToolEvidence(tool=tool_id, args=args, result=host.tools.get(tool_id).call(args))

    def gathered(solution):
        question = MathDomain().example_question().model_copy(update={"solution": solution})
        return gather_evidence(MathDomain(), question, call, consulted_tools(host, "math"))

    assert gathered(SOLVES["bakery"]).verified is True
    slipped = gathered(SOLVES["bakery"].replace("$180", "$170"))
    assert slipped.verified is False
    (evidence,) = [e for e in slipped.evidence if e.tool == "math.arithmetic"]
    assert "170: 90 × 2 is 180" in evidence.note
