"""The free screen of a code-first sequence problem, before any model answers it: the
kit's (:class:`~nanoflux.kit.CodeFirstScreen`), with the pack's generators; and what the
pack writes into a problem before it (:func:`complete`).

The program builds its sequences with ``dna(seed=17, length=24)`` and its kin, and the
problem must show each one verbatim. The Attacker cannot know what a generator builds
when it writes, and a 1.5B model rarely pastes a 20 to 60-base sequence right even when
a repair turn quotes it (0 of 21 attempts accepted in ``bench yield``), so the pack
writes each one in, in place of the sequence (or ``<sequence>``) the Attacker wrote for
it: the program decides the sequence, and the text says what the program decides. A
sequence the program types must be short (a primer, a site) and shown too; lengths stay
what a reader works through by hand. A problem may keep a seed's generator calls and ask
something new about the sequences the seed shows.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from nanoflux.kit import CodeFirstScreen, complete_generated, placeholders, public_functions
from nanoflux.records import BenchmarkItem, Question

from . import sequences

GENERATORS = {"dna": sequences.dna, "gene": sequences.gene, "mutant": sequences.mutant}
#: arguments a reader can work with by hand, by parameter
RANGES = {
    "length": (6, 40, "bases: a reader works through a short sequence by hand"),
    "codons": (2, 20, "codons: a reader translates a short gene by hand"),
    "changes": (1, 10, "substitutions"),
    "k": (1, 12, "bases in a k-mer"),
    "table": (1, 33, "an NCBI genetic code"),
    "na_mm": (1, 1000, "mM of Na+"),
}
#: the longest sequence a program may type rather than build
TYPED = 20
_TYPED = re.compile(rf"[ACGTUacgtu]{{{TYPED + 1},}}")
#: what the attacker prompt asks for where a generated sequence goes, and its seeds show
PLACEHOLDER = "<sequence>"
#: what the Attacker writes there: its own guess at one (in any case), or a placeholder
WRITTEN = re.compile(r"<[a-z][\w ]{0,30}>|(?<![a-z])[ACGTU]{6,}(?![a-z])", re.IGNORECASE)


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


@cache
def seed_problems() -> tuple[str, ...]:
    """The problems of the pack's seeds, as the Attacker is shown them."""
    lines = resources.files("nanoflux_genomics").joinpath("seeds", "problems.jsonl")
    return tuple(json.loads(line)["question"] for line in lines.read_text().splitlines() if line)


def complete(question: Question) -> tuple[Question, list[str]]:
    """The question with each sequence its program builds and its problem does not show
    written in (:func:`~nanoflux.kit.complete_generated`); a copy of a seed's problem is
    left as written, for the copy screen."""
    text, changes = complete_generated(
        question.text, question.program, GENERATORS, WRITTEN, copies=seed_problems()
    )
    return (question.model_copy(update={"text": text}) if changes else question), changes


def as_drafted(seed: BenchmarkItem) -> BenchmarkItem:
    """The seed with ``<sequence>`` where its problem shows what its program builds, as
    the Attacker writes a problem (:func:`~nanoflux.kit.placeholders`)."""
    text = placeholders(seed.question, seed.program, GENERATORS, PLACEHOLDER)
    return seed.model_copy(update={"question": text}) if text != seed.question else seed


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
