"""The genomics answer checker, on conventions of the field: sequences compare without
case or spacing (FASTA is case-insensitive), a protein's trailing stop (*) is not a
residue, GC content may be written as a fraction or a percentage, and multiple-choice
answers name a choice by letter or text (Genome-Bench's <answer>b</answer>)."""

from __future__ import annotations

import pytest
from nanoflux_genomics import GenomicsDomain
from nanoflux_genomics.answers import choice_index

SAME = [
    ("ACCGGGTTTT", "accgggtttt"),
    ("ACCGGGTTTT", "ACC GGG TTTT"),
    ("ACCGGGTTTT", "5'-ACCGGGTTTT-3'"),  # a strand written with its ends
    ("ACCGGUUUU", "5' ACCGGUUUU 3'."),
    ("MAMAPRTEINSTRING", "MAMAPRTEINSTRING*"),
    ("57.1%", "0.571"),  # 57.1 per hundred
    ("57.1", "57.14"),  # same to the reference's one decimal
    ("7", "7 mutations"),
    ("60.3 °C", "60.32"),
]
DIFFERENT = [
    ("ACCGGGTTTT", "ACCGGGTTTA"),
    ("ACCGGGTTTT", "5'-ACCGGGTTTA-3'"),
    ("57.1", "42.9"),
    ("7", "8"),
    ("57.1", "0.571"),  # without a % sign a bare 57.1 is not a fraction
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same(a, b):
    assert GenomicsDomain().check_answer(a, b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different(a, b):
    assert not GenomicsDomain().check_answer(a, b)


def test_choices():
    choices = ["Cas9", "Cas12a", "Cas13", "dCas9", "TALEN"]
    domain = GenomicsDomain()
    assert domain.check_answer("b", "B", choices=choices)
    assert domain.check_answer("b", "(b)", choices=choices)
    assert domain.check_answer("b", "Cas12a", choices=choices)
    assert not domain.check_answer("b", "Cas13", choices=choices)
    assert choice_index("e. TALEN", choices) == 4
