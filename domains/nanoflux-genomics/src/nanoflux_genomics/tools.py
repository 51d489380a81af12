"""The genomics judge tools. Each wraps a function of :mod:`nanoflux_genomics.sequences`.

A tool that recomputes an operation a question can ask for in so many words (a reverse
complement, a GC content, a Hamming distance, a translation) declares when it applies:
an :class:`Operation`, its keywords and the sequences it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from nanoflux.kit import arithmetic_tool, python_tool
from nanoflux.records import Question, Record
from nanoflux.tools import judge_tool

from . import sequences

SEQ = Field(min_length=1, description="A DNA or RNA sequence (IUPAC codes; FASTA header allowed).")


#: a DNA or RNA sequence written out in a question
SEQUENCE = re.compile(r"(?<![A-Za-z])[ACGTU]{6,}(?![A-Za-z])")


@dataclass(frozen=True)
class Operation:
    """A tool's ``applies_to`` for a question that asks its operation: the keywords are
    in the question, which states the sequences the tool takes (the first one, or two
    of equal length)."""

    keywords: str
    sequences: int = 1

    def asked(self, question: Question) -> bool:
        return re.search(self.keywords, question.text.lower()) is not None

    def __call__(self, question: Question) -> dict[str, Any] | None:
        found = SEQUENCE.findall(question.text)
        if not found or not self.asked(question):
            return None
        if self.sequences == 1:
            return {"seq": found[0]}
        if len(found) == 2 and len(found[0]) == len(found[1]):
            return {"a": found[0], "b": found[1]}
        return None


class SeqArgs(Record):
    seq: str = SEQ


class TranslateArgs(Record):
    seq: str = SEQ
    table: int = Field(default=1, ge=1, le=33, description="NCBI genetic code id (1 standard).")
    to_stop: bool = Field(default=False, description="Stop at the first stop codon.")


class OrfArgs(Record):
    seq: str = SEQ
    min_len: int = Field(default=30, ge=1, description="Minimum protein length, amino acids.")
    table: int = Field(default=1, ge=1, le=33)
    both_strands: bool = True
    nested: bool = Field(default=False, description="Also ORFs from downstream in-frame ATGs.")


class MeltingArgs(Record):
    seq: str = SEQ
    method: Literal["nearest_neighbor", "wallace", "gc"] = "nearest_neighbor"
    na_mm: float = Field(default=50.0, gt=0, description="Na+ concentration, mM.")


class HammingArgs(Record):
    a: str = SEQ
    b: str = SEQ


class MotifArgs(Record):
    seq: str = SEQ
    motif: str = SEQ


class KmerArgs(Record):
    seq: str = SEQ
    k: int = Field(ge=1, le=32)


class RestrictionArgs(Record):
    seq: str = SEQ
    enzymes: list[str] = Field(min_length=1, description="REBASE names, e.g. EcoRI, BamHI.")


@judge_tool(
    "genomics.reverse_complement",
    domain="genomics",
    applies_to=Operation(r"reverse[- ]complement"),
)
def reverse_complement(args: SeqArgs) -> str:
    """The reverse complement of a DNA or RNA sequence (IUPAC ambiguity codes included)."""
    return sequences.reverse_complement(args.seq)


@judge_tool(
    "genomics.gc_content",
    domain="genomics",
    applies_to=Operation(r"\bgc[- ]?(?:content|fraction|percentage|%)"),
)
def gc_content(args: SeqArgs) -> float:
    """The GC fraction (0-1): (G+C+S) over bases of known strength; N and the like excluded."""
    return sequences.gc_content(args.seq)


@judge_tool("genomics.nucleotide_counts", domain="genomics")
def nucleotide_counts(args: SeqArgs) -> dict:
    """How many A, C, G, T (or U) and each other IUPAC code the sequence holds."""
    return sequences.nucleotide_counts(args.seq)


@judge_tool(
    "genomics.translate",
    domain="genomics",
    applies_to=Operation(r"translat|amino[- ]acid sequence|protein sequence"),
)
def translate(args: TranslateArgs) -> str:
    """The protein encoded in frame 1 by an NCBI genetic code; stops as '*'."""
    return sequences.translate(args.seq, args.table, to_stop=args.to_stop)


@judge_tool("genomics.find_orfs", domain="genomics")
def find_orfs(args: OrfArgs) -> list[dict]:
    """Open reading frames (ATG to stop) on both strands, 1-based coordinates, longest first."""
    return sequences.find_orfs(
        args.seq,
        args.min_len,
        table=args.table,
        both_strands=args.both_strands,
        nested=args.nested,
    )


@judge_tool("genomics.melting_temp", domain="genomics")
def melting_temp(args: MeltingArgs) -> dict:
    """Melting temperature in °C and the method used (nearest-neighbour by default)."""
    return sequences.melting_temp(args.seq, args.method, args.na_mm)


@judge_tool(
    "genomics.hamming",
    domain="genomics",
    applies_to=Operation(r"hamming|point mutations|mismatch", sequences=2),
)
def hamming(args: HammingArgs) -> int:
    """The Hamming distance: positions at which two equal-length sequences differ."""
    return sequences.hamming(args.a, args.b)


@judge_tool("genomics.find_motif", domain="genomics")
def find_motif(args: MotifArgs) -> list[int]:
    """1-based start positions of a motif in a sequence, overlapping occurrences included."""
    return sequences.find_motif(args.seq, args.motif)


@judge_tool("genomics.kmer_counts", domain="genomics")
def kmer_counts(args: KmerArgs) -> dict:
    """Counts of every k-mer and the most frequent ones."""
    return sequences.kmer_counts(args.seq, args.k)


@judge_tool("genomics.restriction_sites", domain="genomics")
def restriction_sites(args: RestrictionArgs) -> dict:
    """Cut positions of restriction enzymes in a linear sequence (Biopython, REBASE)."""
    return sequences.restriction_sites(args.seq, args.enzymes)


# the sequence functions need no import: a 1.5B Attacker leaves out import lines
python = python_tool("genomics", importable="Biopython", provides="nanoflux_genomics.sequences")
# each calculation of the worked solution holds (a GC fraction, a Wallace Tm)
arithmetic = arithmetic_tool("genomics")


TOOLS = [
    reverse_complement,
    gc_content,
    nucleotide_counts,
    translate,
    find_orfs,
    melting_temp,
    hamming,
    find_motif,
    kmer_counts,
    restriction_sites,
    python,
    arithmetic,
]
