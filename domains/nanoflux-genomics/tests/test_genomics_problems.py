"""Code-first genomics: the generators, the seed problems, and the screen of a problem and
its program."""

from __future__ import annotations

import pytest
from nanoflux_genomics import GenomicsDomain
from nanoflux_genomics.sequences import (
    dna,
    gene,
    hamming,
    melting_temp,
    mutant,
    translate,
    wallace_tm,
)

from nanoflux.records import Question

DOMAIN = GenomicsDomain()


def problem(text: str, program: str, answer: str = "3") -> Question:
    return DOMAIN.example_question().model_copy(
        update={"text": text, "program": program, "reference_answer": answer}
    )


def test_the_generators_are_functions_of_their_arguments_alone():
    # pinned: a sequence a dataset example shows must be what its program builds, on
    # every machine and in every later version of the pack
    assert dna(seed=17, length=24) == "GAGATGCAACCTTCAAGCCAAAGC"
    assert dna(seed=17, length=10) == dna(seed=17, length=24)[:10] != dna(seed=18, length=10)
    orf = gene(seed=5, codons=8)
    assert orf == "ATGCACCACCAAGGGGGCACGTGA" and translate(orf) == "MHHQGGT*"
    assert all(len(gene(seed=s, codons=6)) == 18 for s in range(50))
    assert all(translate(gene(seed=s, codons=6)).count("*") == 1 for s in range(50))
    changed = mutant("ACGTACGTACGT", seed=3, changes=4)
    assert hamming("ACGTACGTACGT", changed) == 4 and changed == mutant("ACGTACGTACGT", 3, 4)
    for bad in (lambda: dna(seed=-1, length=5), lambda: dna(seed=1, length=301)):
        with pytest.raises(ValueError, match="must be a whole number"):
            bad()


def test_the_wallace_rule_by_hand_is_biopythons():
    # Wallace et al. 1979: 2 per A or T, 4 per G or C; 16-mers as the seeds use them
    assert wallace_tm("AAAATTTTGGGGCCCC") == 2 * 8 + 4 * 8 == 48
    for seed in range(30):
        primer = dna(seed=seed, length=16)
        assert wallace_tm(primer) == melting_temp(primer, "wallace")["tm_celsius"]


GC = (
    "from nanoflux_genomics.sequences import dna, gc_content\n\n"
    "def solution():\n"
    "    seq = dna(seed={seed}, length={length})\n"
    "    return round(100 * gc_content(seq), 1)\n"
)


def test_a_sequence_the_problem_does_not_show_is_quoted_to_paste():
    program = GC.format(seed=4321, length=20)
    built = dna(seed=4321, length=20)
    # the old prompt's example sequence, parroted: not what the program builds
    (shown,) = DOMAIN.screen(problem("What is the GC content of ATGGCCATT, in %?", program))
    assert shown == (
        f"the problem must show {built}, which dna(seed=4321, length=20) builds: write it "
        "there letter for letter, in place of what you wrote for it"
    )
    pasted = f"What is the GC content of 5'-{built}-3', as a percentage to one decimal?"
    assert DOMAIN.screen(problem(pasted, program, "45")) == []


def test_a_typed_sequence_a_long_one_and_a_motif_never_shown_are_found():
    typed = "ACGTTGCAAGGCTTAACCGGTTAACG"
    program = f"def solution():\n    seq = '{typed}'\n    return seq.count('G') * 2\n"
    problems = DOMAIN.screen(problem(f"Twice the G count of {typed}?", program, "12"))
    assert problems == [
        "the program types a 26-base sequence: build it with dna(seed=..., length=26) "
        "instead, and show in the problem what it builds"
    ]
    long = GC.format(seed=4321, length=200)
    built = dna(seed=4321, length=200)
    (problem_,) = DOMAIN.screen(problem(f"GC content of {built}, in %, to one decimal?", long))
    assert "takes length=200, outside 6 to 40" in problem_
    motif = (
        "from nanoflux_genomics.sequences import dna, find_motif\n\n"
        "def solution():\n    seq = dna(seed=5, length=20)\n"
        "    return len(find_motif(seq, 'GATC'))\n"
    )
    text = f"How many times does the site occur in {dna(seed=5, length=20)}?"
    (problem_,) = DOMAIN.screen(problem(text, motif, "0"))
    assert "find_motif() takes motif='GATC', which the problem does not say" in problem_
    assert DOMAIN.screen(problem(text.replace("the site", "GATC"), motif, "0")) == []


def test_the_example_is_code_first_and_passes_the_screen():
    question = DOMAIN.example_question()
    assert DOMAIN.program_tool == "genomics.python"
    assert DOMAIN.screen(question) == []
    assert dna(seed=50, length=20) in question.text


# -- what the pack writes into a problem before the screen --------------------------------------


def test_a_guessed_sequence_is_written_over_before_the_screen():
    program = GC.format(seed=4321, length=20)
    built = dna(seed=4321, length=20)
    # the old prompt's example sequence, parroted: the program's sequence takes its place
    guessed = problem("What is the GC content of 5'-ATGGCCATT-3', in %, to one decimal?", program)
    completed, changes = DOMAIN.complete(guessed)
    assert completed.text == guessed.text.replace("ATGGCCATT", built)
    assert changes == [f"replaced ATGGCCATT with {built} (dna(seed=4321, length=20))"]
    assert completed.model_copy(update={"text": guessed.text}) == guessed
    assert DOMAIN.screen(completed.model_copy(update={"reference_answer": "45"})) == []
    # the placeholder the attacker prompt asks for
    placeholder = problem("What is the GC content of <sequence>, in %, to one decimal?", program)
    assert built in DOMAIN.complete(placeholder)[0].text
    # nothing to write: the same question back
    assert DOMAIN.complete(completed) == (completed, [])


def test_a_seeds_problem_with_new_seed_numbers_is_left_a_copy():
    from nanoflux_genomics.screen import seed_problems

    seed = seed_problems()[0]  # 5'-GAGATCATAACCCCTCAT-3', dna(seed=311, length=18)
    assert dna(seed=311, length=18) in seed
    copied = problem(seed, GC.format(seed=312, length=18), "50")
    assert DOMAIN.complete(copied) == (copied, [])
    # its sequence is not what the program builds: the screen says so
    assert DOMAIN.screen(copied)[0].startswith("the problem must show")
