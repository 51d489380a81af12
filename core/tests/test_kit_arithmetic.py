"""The kit's check of the arithmetic a worked solution writes, and its judge tool."""

from __future__ import annotations

import pytest

from nanoflux.answers import answer_key, single_number
from nanoflux.config import Acceptance
from nanoflux.domains import Verification
from nanoflux.engine import policy
from nanoflux.kit import (
    arithmetic_slips,
    arithmetic_tool,
    calculated,
    calculations_written,
    consult,
    rounds_to_reference,
    within_rounding,
)
from nanoflux.records import Question, Reason, ToolEvidence

# The Judge's blind solves of the two medicine examples a yield run accepted, verbatim:
# the references (QTc 439, a clearance 12) were right, the arithmetic on the way was not.
QTC_SOLUTION = """Step 1: Calculate the RR interval in seconds.
RR interval = 60 / heart rate = 60 / 80 = 0.75 seconds

Step 2: Calculate the square root of the RR interval.
√(0.75) ≈ 0.866

Step 3: Divide the QT interval by the square root of the RR interval.
QTc = QT / √(RR) = 380 / 0.866 ≈ 440.7

Step 4: Round the result to the nearest whole number.
QTc ≈ 441

Final answer: 439"""
CLEARANCE_SOLUTION = """Step 1: Calculate the Cockcroft-Gault creatinine clearance for the woman.
Age = 55
Weight = 72 kg
Creatinine = 1.9 mg/dL
Cockcroft-Gault formula = (140 - age) x weight in kg / (72 x creatinine in mg/dL) x 0.85
= (140 - 55) x 72 / (72 x 1.9) x 0.85
= 85 x 72 / (72 x 1.9) x 0.85
= 85 / 1.9 x 0.85
= 45.26 x 0.85
= 38.44 mL/min

Step 2: Determine how much below 50 mL/min her clearance is.
Clearance = 38.44 mL/min
Desired clearance = 50 mL/min
Difference = Desired clearance - Clearance
= 50 - 38.44
= 11.56 mL/min

Step 3: Round to one decimal.

Final answer: 12"""


def test_the_qtc_solution_that_ends_at_441_is_caught_where_it_slips():
    slips = arithmetic_slips(QTC_SOLUTION)
    assert [str(s) for s in slips] == ["440.7: 380 / 0.866 is 438.79"]
    # 0.866 stands for the √0.75 an earlier line rounded: 380 / 0.8660254 is 438.79 too
    assert slips[0].value == pytest.approx(380 / 0.75**0.5, abs=0.01)


def test_the_clearance_solution_that_ends_at_11_56_is_caught_where_it_slips():
    slips = [str(s) for s in arithmetic_slips(CLEARANCE_SOLUTION)]
    # 85 / 1.9 is 44.74, not 45.26: the chain breaks there, and 45.26 x 0.85 is not 38.44
    assert slips == ["45.26 × 0.85: 85 / 1.9 × 0.85 is 38.03", "38.44: 45.26 × 0.85 is 38.47"]


def test_the_same_solutions_with_their_arithmetic_right_pass():
    qtc = QTC_SOLUTION.replace("≈ 440.7", "≈ 438.8").replace("QTc ≈ 441", "QTc ≈ 439")
    assert arithmetic_slips(qtc) == []
    clearance = (
        CLEARANCE_SOLUTION.replace("= 45.26 x 0.85\n= 38.44", "= 44.74 x 0.85\n= 38.03")
        .replace("38.44", "38.03")
        .replace("11.56", "11.97")
    )
    assert arithmetic_slips(clearance) == []


# Correct calculations as solutions write them: none is a slip.
CORRECT = [
    "Step 1: 5 × 12 = 60",
    "Step 2: 60 + 15 = 75 cookies",
    "She pays $45 - $9 = $36.",
    "1,250 + 850 = 2,100 dollars",
    "20% of $45 = $9",
    "9 / 45 × 100 = 20%",
    "9/45 = 20%",
    "3 bobby pins / 21 decorations * 100% = 14.28",  # × 100% writes a percentage
    "12.5% × 80 = 10",
    "The area is 7.5 × 7.5 = 56.25 ≈ 56 square feet.",
    "2 hours × 60 minutes/hour = 120 minutes",
    "30 minutes * (1 hour/60 minutes) = 0.5 hours",
    "165 lb × 0.4536 = 74.8 kg",
    "Glucose 126 mg/dL ÷ 18 = 7.0 mmol/L",
    "CrCl = (140 − 68) × 80 / (72 × 1.5) = 5760 / 108 = 53.3 mL/min",
    "BMI = 70 / 1.75² = 70 / 3.0625 = 22.86 ≈ 22.9 kg/m²",
    "MAP = 80 + (120 - 80) / 3 = 80 + 13.33 = 93.33 ≈ 93 mmHg",
    "√0.8 ≈ 0.894, so QTc = 400 / 0.894 = 447.2 ms",  # 0.894 stands for √0.8
    "QTc = 380 / √0.75 = 380 / 0.866 = 438.8 ms",  # 0.866 rounded on the way
    "2/3 = 0.66",  # truncated
    "1/3 ≈ 0.333...",
    "Each gets 25 / 4 = 6 whole cookies",
    "25 decorations were 1/3 of them: 25 / 1/3 = 75",  # a tight fraction divides
    "5^2 = 25, 2**10 = 1024, 5² = 25 and 1.05^2 = 1.1025",
    "ln(2) ≈ 0.693 and exp(1) ≈ 2.718 and π × 5^2 = 78.54 cm²",
    "The total is 45 + 30 = 75 + 20 = 95 apples",  # a running total
    "Total = 3 × 12 + 2 × 8 = 36 + 16 = 52",
    "GC content = (5 + 7) / 20 = 12 / 20 = 0.6 = 60%",
    "Tm = 2 × (A+T) + 4 × (G+C) = 2 × 10 + 4 × 10 = 60 °C",
    "\\( 5 \\times 12 = 60 \\) and \\[ \\frac{3}{4} \\times 100 = 75\\% \\]",
    "**Step 2:** 60 + 15 = **75**",
    "- 3 × 4 = 12\n1. 3 x 4 = 12\n2) 3x4 = 12",
    "The dose is 15 mg/kg × 70 kg = 1050 mg; 1050 × 3 = 3150 mg/day",
    "Speed = 120 km / 1.5 h = 80 km/h",
]


@pytest.mark.parametrize("text", CORRECT)
def test_correct_calculations_are_no_slips(text):
    assert arithmetic_slips(text) == []


# What the check cannot read whole it skips: each is wrong as it would read, or ambiguous.
UNREAD = [
    "2 hours = 120 minutes",  # no operator: a conversion
    "half of 10 + 2 = 7",  # "of" carries the calculation on
    "3 boxes of 12 = 36",
    "2 dozen × 12 = 288",
    "2x + 3 = 7",  # a letter
    "x + 3 + 2 = 10",
    "3*m + 10 = 220",
    "(2/3) * original amount = 192",
    "3:30 + 15 = 45",  # a time
    "0900 - 0130 = 0730",
    "Step 1 - 5 × 12 = 60",  # a label
    "Monday - 5 × 12 = 60",  # a dash
    "Weeks 1-2 = 96 - 70",  # a range
    "5 × 12 = 60–70 cookies",
    "$2.50 - $2.24 = 26 cents",  # a unit converted in the value
    "4 pounds - 6 ounces = 58 ounces",
    "1.5 hours + 0.5 hours = 120 minutes",
    "45 + 20% = 54",  # a percentage added to a number
    "$7500/75% = $100",  # per percent
    "log(100) = 2",
    "the sum 5 + 7 = 12 thousand",
]


@pytest.mark.parametrize("text", UNREAD)
def test_what_cannot_be_read_whole_is_skipped_never_flagged(text):
    assert arithmetic_slips(text) == []


SLIPS = [
    ("5 × 12 = 50", "50: 5 × 12 is 60"),
    ("$45 - $9 = $34", "34: 45 - 9 is 36"),
    ("20% of 45 = 8", "8: 20% × 45 is 9"),
    ("2,430 - 2,100 = 320", "320: 2,430 - 2,100 is 330"),
    ("1/3 ≈ 0.34", "0.34: 1/3 is 0.333"),
    ("7.5 × 7.5 = 56.75", "56.75: 7.5 × 7.5 is 56.25"),
    ("\\frac{9}{16} \\approx 0.575", "0.575: (9/16) is 0.562"),
    ("The total is 45 + 30 = 75 + 20 = 96 apples", "96: 75 + 20 is 95"),
    ("Total = 3 × 12 + 2 × 8 = 36 + 16 = 54", "54: 36 + 16 is 52"),
    ("9 / 45 × 100 = 25%", "25%: 9 / 45 × 100 is 20"),
    ("4 × 10 + 2 × 10 = 62 °C", "62: 4 × 10 + 2 × 10 is 60"),
    ("QTc = 400 / 0.911 = 441 ms", "441: 400 / 0.911 is 439.08"),
]


@pytest.mark.parametrize(("text", "slip"), SLIPS)
def test_a_slip_is_named_with_what_the_calculation_gives(text, slip):
    assert [str(s) for s in arithmetic_slips(text)] == [slip]


def test_gsm8k_solutions_with_their_calculator_annotations_are_read_without_them():
    text = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nAll total, 4+4+6 = 18 hot dogs"
    # the second line is a slip in GSM8K's own training set (its answer is 14)
    assert [str(s) for s in arithmetic_slips(text)] == ["18: 4+4+6 is 14"]


def test_what_nothing_can_evaluate_is_skipped():
    assert arithmetic_slips("10^1000 = 1") == []  # too large a power
    assert arithmetic_slips("5 / (3 - 3) = 1") == []
    assert arithmetic_slips("√(2 - 5) = 1") == []
    assert arithmetic_slips("(" * 200 + "1" + ")" * 200 + " + 1 = 3") == []
    assert arithmetic_slips("") == []


@pytest.mark.parametrize(
    ("value", "written", "decimals", "holds"),
    [
        (438.79, 439, 0, True),
        (441.0, 439, 0, False),
        (12.46, 12.5, 1, True),
        (12.44, 12.5, 1, False),
    ],
)
def test_within_rounding(value, written, decimals, holds):
    assert within_rounding(value, written, decimals) is holds


def test_rounds_to_reference_compares_at_the_references_precision():
    def same(reference, candidate):
        return rounds_to_reference(single_number(reference), single_number(candidate))

    assert same("439", "438.8") and same("439", "439.4") and not same("439", "441")
    assert same("12.5", "12.46") and not same("12.5", "12.4")
    assert same("57.1%", "0.5712") and same("0.571", "57.1%")
    assert not same("12.47", "12.5")  # less precise than the reference


def _checker(reference, candidate, choices=None):
    x, y = single_number(reference), single_number(candidate)
    if x is not None and y is not None:
        return rounds_to_reference(x, y)
    return answer_key(reference) == answer_key(candidate)


def _question(solution, reference="439", steps=("s",)):
    return Question(
        text="What is her QTc?",
        domain="medicine",
        hops=2,
        skill="cardiovascular",
        reference_answer=reference,
        solution_steps=list(steps),
        solution=solution,
    )


def _consulted(tool, question):
    def call(tool_id, args):
        assert tool_id == tool.id
        return ToolEvidence(tool=tool_id, args=args, result=tool.call(args))

    return consult(tool, question, call, _checker)


def test_the_tool_contradicts_a_reference_whose_solution_slips_and_the_policy_rejects_it():
    tool = arithmetic_tool("medicine")
    assert (tool.id, tool.domain, tool.checks) == ("medicine.arithmetic", "medicine", "consistency")
    evidence = _consulted(tool, _question(QTC_SOLUTION))
    assert evidence.supports_reference is False
    assert "440.7: 380 / 0.866 is 438.79" in evidence.note
    verification = Verification(evidence=[evidence])
    assert verification.verified is False
    assert policy.verification_fault(Acceptance(), verification.verified) is Reason.UNVERIFIED


def test_the_tool_says_nothing_of_a_solution_whose_arithmetic_holds():
    correct = QTC_SOLUTION.replace("≈ 440.7", "≈ 438.8").replace("QTc ≈ 441", "QTc ≈ 439")
    evidence = _consulted(arithmetic_tool("medicine"), _question(correct))
    assert evidence.result.ok and evidence.result.value is None
    assert evidence.supports_reference is None  # right arithmetic is no right answer


def test_the_tool_reads_the_solution_else_the_steps_never_the_explanation():
    tool = arithmetic_tool("math")
    steps = _question(None, steps=["5 × 12 = 60", "60 + 15 = 75"])
    assert tool.applies_to(steps) == {"solution": "5 × 12 = 60\n60 + 15 = 75"}
    solved = _question("5 × 12 = 60", steps=["other"])
    assert tool.applies_to(solved) == {"solution": "5 × 12 = 60"}
    explained = steps.model_copy(update={"explanation": "A slip would give 5 × 12 = 50."})
    assert tool.applies_to(explained) == {"solution": "5 × 12 = 60\n60 + 15 = 75"}
    assert tool.applies_to(_question(None, steps=[" "])) is None
    # a slip's evidence is text no checker reads as the reference, whatever it is
    slipped = _question("5 × 12 = 60\n60 + 15 = 76", reference="76")
    assert _consulted(tool, slipped).supports_reference is False


def test_a_slip_in_a_name_defined_again_is_found():
    # an accepted cardiac-index example's solution, verbatim: right only by luck
    solution = (
        "BSA = √(height in cm × weight in kg / 3600)\n"
        "BSA = √(165 cm × 67 kg / 3600)\n"
        "BSA = √(11025 / 3600)\n"
        "BSA = √3.0625\n"
        "BSA ≈ 1.75 m²\n"
        "CI = 4.9 L/min / 1.75 m²\n"
        "CI ≈ 2.8 L/min/m²"
    )
    (slip,) = arithmetic_slips(solution)
    assert (slip.written, slip.expression) == ("√(11025 / 3600)", "√(165 cm × 67 kg / 3600)")
    # a running total is named again with new values: no chain
    assert arithmetic_slips("Total = 5 + 3 = 8\nTotal = 8 + 2 = 10") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("CrCl = (140 - 68) × 62 / (72 × 1.3) ", "47.6923"),
        ("Step 2: 4464 / 93.6 ", "47.6923"),
        ("so she has 5 + 3 ", "8"),
        ("The total is $12.50 × 3 ", "37.5"),
        ("BMI = 70 / 1.75^2 ", "22.8571"),
        ("45 + 30 = 75 + 20 ", "95"),  # the link the sign ends
        ("√(0.75) ", "0.866"),
        ("0.5 * 0.01 ", "0.005"),
        ("BSA = 114.87 kg² / 3600 ", "0.0319"),  # a unit squared, not the number
        ("20% of 50 ", "10"),
        ("3 / 21 × 100% ", "14.2857%"),
        # a chain's next line starts on the sign: the calculation is the line before
        ("Clearance = (140 - 55) x 72 / (72 x 1.9) x 0.85\n", "38.0263"),
        # a name restated on the next line: the value of the line that defines it (a
        # medicine solve wrote BSA = √(11025 / 3600) there itself; 165 × 67 is 11055)
        ("BSA = √(165 cm × 67 kg / 3600)\nBSA ", "1.7524"),
        ("Cardiac index = 4.9 L/min / 1.7524 m²\ncardiac index ", "2.7962"),
        ("Total = 5 + 3 = 8\nTotal ", None),  # already worked out
        ("BSA = √(165 × 67 / 3600)\nCI ", None),  # another name
        ("BSA is √(165 × 67 / 3600)\nBSA ", None),  # not a definition
        ("CrCl", None),  # no calculation
        ("(140 - age) × weight ", None),  # a formula in words
        ("half of 10 + 2 ", None),  # a word that may be part of it
        ("x + 3 ", None),  # algebra
        ("2 hours ", None),  # no operator
        ("20% + 5% ", None),  # a percentage or its fraction
    ],
)
def test_a_calculator_writes_the_value_of_the_calculation_a_text_ends_on(text, value):
    assert calculated(text) == value


# The worked solution of an example the README's quick start accepted from a clean clone
# of d12c1a4: its blind solve reached 75 and wrote down nothing it worked out.
NO_WORK_SOLUTION = """1. Calculate the number of apples sold.
2. Subtract the number of apples left over from the total number of apples sold.
3. The final answer is the number of apples sold.

Final answer: 75"""


@pytest.mark.parametrize(
    ("text", "count"),
    [
        (NO_WORK_SOLUTION, 0),
        ("Step 1: Each notebook is 3 inches thick.\n- There are 60 students.", 0),
        ("**Step 2:** 12 x 4", 1),
        ("- 50 ÷ 5 = 10 students per group", 1),
        ("There are 22 pieces because 14 plus 8 equals 22.", 1),
        ("10% of 10000 stalks = 1000 stalks\n10000 - 1000 = 9000", 2),
        ("Total fruits on Tuesday = 120 apples + 80 oranges + 60 bananas", 1),
        ("1. Total: 500\n2. Red apples: 500 / 2 = 250\nFinal answer: 250", 1),
    ],
)
def test_the_calculations_a_solution_writes_are_counted_in_symbols_or_words(text, count):
    assert calculations_written(text) == count


def test_a_solution_that_works_nothing_out_is_a_fault_where_the_domain_shows_work():
    """An example teaches its solution: with ``shows_work``, one that only names its steps
    contradicts the reference as a slip does; without, the tool says nothing of it."""
    question = _question(NO_WORK_SOLUTION, reference="75")
    shown = _consulted(arithmetic_tool("math", shows_work=True), question)
    assert shown.supports_reference is False
    assert "no calculation" in shown.note
    assert Verification(evidence=[shown]).verified is False
    assert _consulted(arithmetic_tool("math"), question).supports_reference is None
    worked = _question("100 - 25 = 75 apples sold\nFinal answer: 75", reference="75")
    assert _consulted(arithmetic_tool("math", shows_work=True), worked).result.value is None
