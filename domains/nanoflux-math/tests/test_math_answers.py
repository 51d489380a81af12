"""Worked examples for the math answer checker.

Expected values come from definitions (place value, fractions, percent = per hundred,
radical rules) and from the answer conventions of the benchmarks themselves: GSM8K
ends each solution with ``#### N`` (Cobbe et al. 2021, "Training Verifiers to Solve
Math Word Problems"); MATH puts the final answer in ``\\boxed{}`` and its graders treat
``\\frac{1}{2}``, ``\\dfrac12`` and ``0.5`` as the same answer (Hendrycks et al. 2021,
"Measuring Mathematical Problem Solving With the MATH Dataset", Appendix on answer
normalisation).
"""

from __future__ import annotations

import pytest
from nanoflux_math.answers import equivalent, final_answer, last_boxed, parse_expression

SAME = [
    ("1,234", "1234"),  # thousands separator (place value)
    ("$5", "5"),  # currency sign carries no value
    ("\\$18.00", "18"),  # escaped dollar and trailing zeros: 18.00 = 18
    ("50%", "0.5"),  # percent means per hundred: 50/100 = 0.5
    ("50%", "50"),  # GSM8K writes percentage answers without the sign
    ("3/4", "\\frac{3}{4}"),  # a/b and \frac{a}{b} are the same fraction
    ("\\dfrac34", "0.75"),  # 3/4 = 0.75 (MATH normalises \dfrac and \frac12-style shorthand)
    ("x=5", "5"),  # an answer written as an equation for the asked variable
    ("\\boxed{12}", "12"),  # MATH's boxed answer
    ("The answer is 7.", "7"),  # trailing prose and period
    ("12 cm", "12"),  # units after the number
    ("2\\sqrt{3}", "\\sqrt{12}"),  # sqrt(ab) = sqrt(a) sqrt(b): sqrt(12) = 2 sqrt(3)
    ("\\frac{\\sqrt{2}}{2}", "1/\\sqrt{2}"),  # rationalising the denominator
    ("2\\frac{1}{2}", "5/2"),  # a mixed number: 2 1/2 = 5/2
    ("10^{3}", "1000"),  # powers of ten
    ("2^{10}", "1024"),  # 2^10 = 1024
    ("x^2+2x+1", "(x+1)^2"),  # the square of a binomial: (a+b)^2 = a^2 + 2ab + b^2
    ("3+4i", "4i+3"),  # complex numbers: addition commutes
    ("33.33", "100/3"),  # a decimal rounded to the places it shows: 100/3 = 33.333...
    ("3.14", "\\pi"),  # pi = 3.14159... rounds to 3.14
    ("2, 3", "3, 2"),  # the roots of x^2 - 5x + 6 = 0, in either order
    ("1e3", "1000"),  # scientific notation
    ("254.99999999999997", "255"),  # a float from a program, within tolerance
]

DIFFERENT = [
    ("5", "6"),
    ("-5", "5"),
    ("1/3", "0.3"),  # 0.3 has one decimal: too coarse to stand for 1/3
    ("(1,2)", "(2,1)"),  # ordered pairs: order matters
    ("(1,2)", "[1,2]"),  # an open interval is not a closed one
    ("x^2-1", "x^2+1"),
    ("2\\frac{1}{2}", "1"),  # not 2 * (1/2)
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_answers(a, b):
    assert equivalent(a, b).equivalent, (a, b)
    assert equivalent(b, a).equivalent, (b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_answers(a, b):
    assert not equivalent(a, b).equivalent, (a, b)


def test_boxed_answers_are_found_with_nested_braces():
    # MATH solutions end like this one: "... so the answer is $\boxed{\frac{1}{2}}$."
    assert last_boxed("so $x = \\boxed{\\frac{1}{2}}$.") == "\\frac{1}{2}"
    assert last_boxed("first \\boxed{1} then \\boxed{2}") == "2"
    assert final_answer("Natalia sold 48+24 = 72 clips.\n#### 72") == "72"


def test_hostile_answers_are_not_evaluated():
    # sympy.parse_expr would eval this; our parser refuses names it does not know
    assert parse_expression("__import__('os').system('true')") is None
    # a tower of powers would never finish: refused by the exponent bound
    assert parse_expression("9^9^9^9") is None
    assert not equivalent("9^9^9^9", "1").equivalent
