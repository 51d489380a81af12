"""The kit's :func:`complete_generated`: what a program's generators build and its problem
does not show is written in, in place of the model's guess or as a sentence of its own;
nothing else changes."""

from __future__ import annotations

import hashlib

from nanoflux.kit import complete_generated, generated, placeholders, unshown_problems

SEQUENCE = r"<[a-z][\w ]{0,30}>|\b[ACGTU]{6,}\b"


def dna(seed, length):
    if not 1 <= length <= 60:
        raise ValueError(f"length {length} is not 1 to 60")
    digest = hashlib.sha256(f"dna {seed}".encode()).hexdigest()
    return "".join("ACGT"[int(c, 16) % 4] for c in digest)[:length]


def mutant(seq, seed, changes):
    flip = {"A": "C", "C": "G", "G": "T", "T": "A"}
    return "".join(flip[b] if i < changes else b for i, b in enumerate(seq))


GENERATORS = {"dna": dna, "mutant": mutant}


def complete(text, program, **options):
    return complete_generated(text, program, GENERATORS, SEQUENCE, **options)


def solution(*lines: str) -> str:
    return "def solution():\n" + "".join(f"    {line}\n" for line in lines)


GC = solution("primer = dna(seed=50, length=20)", "return round(100 * gc_content(primer), 1)")
PRIMER = dna(50, 20)
HAMMING = solution(
    "ref = dna(seed=4051, length=20)",
    "alt = mutant(ref, seed=7, changes=3)",
    "return hamming(ref, alt)",
)
REF, ALT = dna(4051, 20), mutant(dna(4051, 20), 7, 3)


def test_a_guessed_sequence_is_replaced_and_the_numbers_stay():
    text = "A 20-base primer 5'-GATTACAGATTACA-3' is used at 55 C. What is its GC content?"
    completed, changes = complete(text, GC)
    assert completed == text.replace("GATTACAGATTACA", PRIMER)
    assert changes == [f"replaced GATTACAGATTACA with {PRIMER} (dna(seed=50, length=20))"]
    assert unshown_problems(completed, GC, GENERATORS) == []


def test_a_guess_in_any_case_or_a_placeholder_is_replaced_everywhere_it_stands():
    text = "The primer atggccatt pairs with a probe. Is atggccatt longer than 10 bases?"
    completed, changes = complete(text, GC)
    assert completed.count(PRIMER) == 2 and "atggccatt" not in completed
    assert changes == [f"replaced atggccatt with {PRIMER} (dna(seed=50, length=20))"]
    completed, changes = complete("The primer 5'-<sequence>-3' is used. Its GC content?", GC)
    assert completed == f"The primer 5'-{PRIMER}-3' is used. Its GC content?"
    assert changes == [f"replaced <sequence> with {PRIMER} (dna(seed=50, length=20))"]


def test_guesses_are_replaced_in_order_and_a_value_without_one_gets_a_sentence():
    program, ref, alt = HAMMING, REF, ALT
    text = "A read AAAAAATTTTTT mutates into CCCCCCGGGGGG. How many positions differ?"
    completed, _ = complete(text, program)
    assert completed == f"A read {ref} mutates into {alt}. How many positions differ?"
    # one guess: the first value takes its place, the second is written before the question
    completed, changes = complete("A read AAAAAATTTTTT mutates. How many differ?", program)
    assert completed == f"A read {ref} mutates. The sequence alt is {alt}. How many differ?"
    assert changes[1] == f"wrote in 'The sequence alt is {alt}.' (mutant(ref, seed=7, changes=3))"
    # an argument's call is built first, and so takes the first guess
    nested = solution("alt = mutant(dna(seed=4051, length=20), seed=7, changes=3)", "return 1")
    completed, _ = complete(text, nested)
    assert completed == f"A read {ref} mutates into {alt}. How many positions differ?"


def test_each_placeholder_is_a_place_of_its_own_and_placeholders_undo_it():
    """Two ``<sequence>`` are two sequences, in the order the program builds them (a
    guess written twice is one); :func:`placeholders` writes a problem back as the
    Attacker is asked to, and completing that gives the problem again."""
    program, ref, alt = HAMMING, REF, ALT
    text = "A read <sequence> mutates into <sequence>. How many positions differ?"
    completed, changes = complete(text, program)
    assert completed == f"A read {ref} mutates into {alt}. How many positions differ?"
    assert [c.split(" (")[0] for c in changes] == [
        f"replaced <sequence> with {ref}",
        f"replaced <sequence> with {alt}",
    ]
    assert placeholders(completed, program, GENERATORS, "<sequence>") == text
    joined = f"The fragment {ref}{alt.lower()} is cut once. How long is it?"
    drafted = placeholders(joined, program, GENERATORS, "<sequence>")
    assert drafted == "The fragment <sequence><sequence> is cut once. How long is it?"
    assert complete(drafted, program)[0] == joined.replace(alt.lower(), alt)
    # nothing the program builds is shown: nothing to take out
    assert placeholders("How many differ?", program, GENERATORS, "<sequence>") == (
        "How many differ?"
    )


def test_without_a_guess_the_value_is_named_before_the_question():
    completed, changes = complete("What is the GC content of the primer, in percent?", GC)
    assert (
        completed
        == f"The sequence primer is {PRIMER}. What is the GC content of the primer, in percent?"
    )
    assert changes == [f"wrote in 'The sequence primer is {PRIMER}.' (dna(seed=50, length=20))"]
    completed, _ = complete("Compute the GC content of a 20-base primer.", GC)
    assert (
        completed == f"Compute the GC content of a 20-base primer. The sequence primer is {PRIMER}."
    )
    program = solution("template_strand = dna(seed=50, length=20)", "return 1")
    completed, _ = complete("A gene is read. The mRNA of 2.5 kb? Which one?", program)
    assert completed == (
        f"A gene is read. The mRNA of 2.5 kb? The sequence template strand is {PRIMER}. Which one?"
    )


def test_what_is_shown_typed_or_undecided_is_left_alone():
    shown = f"The primer {PRIMER[:10]} {PRIMER[10:].lower()} has the site GAATTC. GC content?"
    assert complete(shown, GC) == (shown, [])
    # a motif the program types is not a guess, and the sequence is written before it
    typed = solution("seq = dna(seed=50, length=20)", "return len(find_motif(seq, 'GAATTCAA'))")
    completed, _ = complete("How often does GAATTCAA occur in the sequence?", typed)
    assert (
        completed == f"The sequence seq is {PRIMER}. How often does GAATTCAA occur in the sequence?"
    )
    # part of a value the text shows is the problem's own reading of it, not a guess
    both = solution("a = dna(seed=50, length=20)", "b = dna(seed=51, length=20)", "return 1")
    text = f"The primer {PRIMER} starts with {PRIMER[:8]}; its partner is ACGTACGTAC. Differ?"
    completed, _ = complete(text, both)
    assert completed == text.replace("ACGTACGTAC", dna(51, 20))
    # arguments the program's literals do not decide, a call that fails, no program
    undecided = solution("n = len('abcd') * 5", "seq = dna(seed=50, length=n)", "return 1")
    for program in (undecided, solution("seq = dna(seed=1, length=500)"), None, "def ("):
        assert complete("The sequence GATTACAGATTACA. Its GC?", program) == (
            "The sequence GATTACAGATTACA. Its GC?",
            [],
        )
    # the same value built twice is written once
    twice = solution("a = dna(seed=50, length=20)", "b = dna(seed=50, length=20)", "return 1")
    completed, changes = complete("GC of GATTACAGATTACA and of TTTTTTTT?", twice)
    assert completed == f"GC of {PRIMER} and of TTTTTTTT?" and len(changes) == 1


def test_a_copy_of_a_shown_problem_is_left_for_the_copy_screen():
    seed = "A PCR primer has the sequence 5'-GAGATCATAACCCCTCAT-3'. What is its GC content?"
    # the seed's problem, with new seed numbers in the program: still the seed's text
    assert complete(seed, GC, copies=[seed]) == (seed, [])
    assert complete(seed.upper() + " Be exact.", GC, copies=[seed]) == (
        seed.upper() + " Be exact.",
        [],
    )
    completed, _ = complete(seed, GC, copies=["An unrelated problem."])
    assert PRIMER in completed


def test_generated_reads_each_generator_call():
    program = solution("n = len('ab')", "a = dna(seed=50, length=20)", "b = dna(seed=n, length=5)")
    first, second = generated(program, GENERATORS)
    assert (first.value, first.call.source) == (PRIMER, "dna(seed=50, length=20)")
    assert second.value is None and "numbers written in the program" in second.problem
