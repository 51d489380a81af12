"""The free screen of a code-first sequence problem, before any model answers it: the
kit's (:class:`~nanoflux.kit.CodeFirstScreen`), with the pack's generators.

The program builds its sequences with ``dna(seed=17, length=24)`` and its kin, and the
problem must show each one verbatim: the repair turn quotes the sequence to paste, which
a 1.5B model copies where it could not have typed it. A sequence the program types must
be short (a primer, a site) and shown too; lengths stay what a reader works through by
hand. A problem may keep a seed's generator calls and ask something new about the
sequences the seed shows: the one way a 1.5B Attacker shows a sequence right the first
time is by copying it.
"""

from __future__ import annotations

import re
from importlib import resources

from nanoflux.kit import CodeFirstScreen, public_functions
from nanoflux.records import Question

from . import sequences

GENERATORS = {"dna": sequences.dna, "gene": sequences.gene, "mutant": sequences.mutant}
#: arguments a reader can work with by hand, by parameter
RANGES = {
    "length": (6, 60, "bases: a reader works through a short sequence by hand"),
    "codons": (2, 20, "codons: a reader translates a short gene by hand"),
    "changes": (1, 10, "substitutions"),
    "k": (1, 12, "bases in a k-mer"),
    "table": (1, 33, "an NCBI genetic code"),
    "na_mm": (1, 1000, "mM of Na+"),
}
#: the longest sequence a program may type rather than build
TYPED = 20
_TYPED = re.compile(rf"[ACGTUacgtu]{{{TYPED + 1},}}")


def seeds_path() -> str:
    return str(resources.files("nanoflux_genomics").joinpath("seeds", "problems.jsonl"))


SCREEN = CodeFirstScreen(
    functions={k: f for k, f in public_functions(sequences).items() if k != "clean"},
    ranges=RANGES,
    # no seeds: a problem may keep a seed's generator calls (the sequences its problem
    # shows, which the Attacker can copy) and ask something new about them
    generators=GENERATORS,
    exact="the question must say how to round, and the program round it so",
)


def screen(question: Question) -> list[str]:
    """A long sequence the program types, then the kit's screen."""
    typed = dict.fromkeys(_TYPED.findall(question.program or ""))
    return [
        *(
            f"the program types a {len(t)}-base sequence: build it with dna(seed=..., "
            f"length={len(t)}) instead, and show in the problem what it builds"
            for t in typed
        ),
        *SCREEN(question),
    ]
