"""Pure sequence computations: the judge tools call them, and so may the Attacker's
programs inside the sandbox (``from nanoflux_genomics.sequences import gc_content``).

A program builds the sequences its problem shows with :func:`dna`, :func:`gene` and
:func:`mutant`, seeded and deterministic: a 1.5B model cannot type a 30-base sequence
twice alike, nor invent one that is not ``ATGATGATG``. The screen then checks that the
problem shows what they build, verbatim.

Positions are 1-based and inclusive, as biologists (and Rosalind, and NCBI) count.
Biopython supplies what it does best: the NCBI genetic codes, nearest-neighbour melting
temperatures and the REBASE restriction enzymes.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

IUPAC_DNA = set("ACGTURYSWKMBDHVN")
_COMPLEMENT = str.maketrans("ACGTRYSWKMBDHVN", "TGCAYRSWMKVHDBN")
_RNA_COMPLEMENT = str.maketrans("ACGURYSWKMBDHVN", "UGCAYRSWMKVHDBN")
MAX_LENGTH = 1_000_000
#: the longest sequence a generator builds: a problem shows it whole
MAX_GENERATED = 300
_WORD = 1 << 16
_STOPS = ("TAA", "TAG", "TGA")
_SENSE = tuple(a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in _STOPS)


def _draws(seed: int, salt: str, count: int, below: int) -> list[int]:
    """``count`` numbers under ``below``, a function of ``seed`` and ``salt`` alone: bytes
    of SHA-256 in counter mode, the same on every machine and Python version (unlike
    ``random``, whose algorithms may change)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number 0 or more, got {seed!r}")
    found: list[int] = []
    block = 0
    while len(found) < count:
        digest = hashlib.sha256(f"{salt}:{seed}:{block}".encode()).digest()
        words = [int.from_bytes(digest[i : i + 2], "big") for i in range(0, len(digest), 2)]
        # a word under the largest multiple of ``below``: every value equally likely
        found += [w % below for w in words if w < _WORD - _WORD % below]
        block += 1
    return found[:count]


def _length(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def dna(seed: int, length: int) -> str:
    """A DNA sequence of ``length`` bases (1 to 300), the same for the same ``seed``."""
    _length("length", length, 1, MAX_GENERATED)
    return "".join("ACGT"[n] for n in _draws(seed, "dna", length, 4))


def gene(seed: int, codons: int) -> str:
    """An open reading frame of ``codons`` codons (2 to 100): ATG, sense codons, a stop."""
    _length("codons", codons, 2, MAX_GENERATED // 3)
    *middle, stop = _draws(seed, "gene", codons - 1, len(_SENSE))
    return "ATG" + "".join(_SENSE[n] for n in middle) + _STOPS[stop % 3]


def mutant(seq: str, seed: int, changes: int) -> str:
    """``seq`` with ``changes`` bases substituted, at distinct positions, by other bases."""
    seq = clean(seq)
    _length("the sequence's length", len(seq), 1, MAX_GENERATED)
    _length("changes", changes, 1, len(seq))
    # positions in an order that is a function of the seed alone: the first ``changes``
    positions = sorted(range(len(seq)), key=lambda p: _draws(seed, f"position {p}", 1, _WORD))
    letters = list(seq)
    for position, shift in zip(positions[:changes], _draws(seed, "bases", changes, 3), strict=True):
        others = [b for b in ("ACGU" if "U" in seq else "ACGT") if b != letters[position]]
        letters[position] = others[shift]
    return "".join(letters)


def clean(seq: str, *, alphabet: set[str] = IUPAC_DNA) -> str:
    """Upper-case, without whitespace, digits (GenBank layout) or a FASTA header line;
    a letter outside the IUPAC nucleotide codes is an error naming it and its position."""
    if seq.lstrip().startswith(">"):
        seq = seq.lstrip().split("\n", 1)[1] if "\n" in seq.lstrip() else ""
    seq = re.sub(r"[\s\d]", "", seq).upper()
    if not seq:
        raise ValueError("the sequence is empty")
    if len(seq) > MAX_LENGTH:
        raise ValueError(f"the sequence is longer than {MAX_LENGTH} letters")
    for position, letter in enumerate(seq, 1):
        if letter not in alphabet:
            raise ValueError(f"{letter!r} at position {position} is not a nucleotide code")
    if "T" in seq and "U" in seq:
        raise ValueError("the sequence mixes T (DNA) and U (RNA)")
    return seq


def reverse_complement(seq: str) -> str:
    """The reverse complement, IUPAC ambiguity codes included; RNA stays RNA."""
    seq = clean(seq)
    table = _RNA_COMPLEMENT if "U" in seq else _COMPLEMENT
    return seq.translate(table)[::-1]


def nucleotide_counts(seq: str) -> dict[str, int]:
    seq = clean(seq)
    counts = Counter(seq)
    letters = "ACGU" if "U" in seq else "ACGT"
    return {letter: counts.get(letter, 0) for letter in letters} | {
        k: v for k, v in sorted(counts.items()) if k not in letters
    }


def gc_content(seq: str) -> float:
    """(G + C + S) / (A + C + G + T + U + S + W): the GC fraction, 0 to 1.

    Codes that do not say whether a base is strong or weak (N, R, Y, ...) are left out
    of both counts.
    """
    counts = Counter(clean(seq))
    strong = counts["G"] + counts["C"] + counts["S"]
    known = strong + counts["A"] + counts["T"] + counts["U"] + counts["W"]
    if known == 0:
        raise ValueError("no base of known strength (A, C, G, T, U, S, W) in the sequence")
    return strong / known


def translate(seq: str, table: int = 1, *, to_stop: bool = False) -> str:
    """The protein, stop codons as ``*``, by the NCBI genetic code ``table``.

    A trailing partial codon is ignored.
    """
    from Bio.Data.CodonTable import unambiguous_dna_by_id
    from Bio.Seq import Seq

    if table not in unambiguous_dna_by_id:
        raise ValueError(f"no NCBI genetic code {table}")
    seq = clean(seq)
    seq = seq[: len(seq) - len(seq) % 3]
    if not seq:
        raise ValueError("the sequence is shorter than one codon")
    return str(Seq(seq).translate(table=table, to_stop=to_stop))


def find_orfs(
    seq: str,
    min_len: int = 30,
    *,
    table: int = 1,
    both_strands: bool = True,
    nested: bool = False,
) -> list[dict]:
    """Open reading frames: ATG ... stop, in frame, on both strands.

    ``min_len`` is the protein length in amino acids (stop excluded). An ORF must end in
    a stop codon. By default each stop gives one ORF, from its most upstream ATG (as NCBI
    ORFfinder reports); ``nested`` also lists the ORFs of every downstream in-frame ATG.
    ``start``/``end`` are 1-based on the given strand's forward coordinates and include
    the stop codon; ``frame`` is 1-3 on the strand read.
    """
    from Bio.Data.CodonTable import unambiguous_dna_by_id

    if table not in unambiguous_dna_by_id:
        raise ValueError(f"no NCBI genetic code {table}")
    code = unambiguous_dna_by_id[table]
    dna = clean(seq).replace("U", "T")
    strands = [("+", dna)] + ([("-", reverse_complement(dna))] if both_strands else [])
    found = []
    length = len(dna)
    for strand, s in strands:
        for frame in range(3):
            starts: list[int] = []
            for i in range(frame, len(s) - 2, 3):
                codon = s[i : i + 3]
                if codon == "ATG":
                    starts.append(i)
                elif codon in code.stop_codons:
                    for start in starts if nested else starts[:1]:
                        protein = "".join(
                            code.forward_table.get(s[j : j + 3], "X") for j in range(start, i, 3)
                        )
                        if len(protein) >= min_len:
                            first, last = start + 1, i + 3
                            if strand == "-":
                                first, last = length - (i + 3) + 1, length - start
                            found.append(
                                {
                                    "start": first,
                                    "end": last,
                                    "strand": strand,
                                    "frame": frame + 1,
                                    "length_aa": len(protein),
                                    "protein": protein,
                                }
                            )
                    starts = []
    return sorted(found, key=lambda o: (-o["length_aa"], o["start"], o["strand"]))


def hamming(a: str, b: str) -> int:
    """Positions at which two equal-length sequences differ."""
    a, b = clean(a), clean(b)
    if len(a) != len(b):
        raise ValueError(f"the sequences differ in length ({len(a)} and {len(b)})")
    return sum(x != y for x, y in zip(a, b, strict=True))


def find_motif(seq: str, motif: str) -> list[int]:
    """1-based start positions of every occurrence of ``motif``, overlaps included."""
    seq, motif = clean(seq), clean(motif)
    return [i + 1 for i in range(len(seq) - len(motif) + 1) if seq.startswith(motif, i)]


def kmer_counts(seq: str, k: int) -> dict:
    """Counts of every k-mer (overlapping), and the most frequent ones."""
    seq = clean(seq)
    if not 1 <= k <= min(32, len(seq)):
        raise ValueError(f"k must be between 1 and min(32, sequence length {len(seq)})")
    counts = Counter(seq[i : i + k] for i in range(len(seq) - k + 1))
    top = max(counts.values())
    return {
        "counts": dict(sorted(counts.items())),
        "most_frequent": sorted(kmer for kmer, n in counts.items() if n == top),
        "max_count": top,
    }


MELTING_METHODS = ("nearest_neighbor", "wallace", "gc")


def melting_temp(seq: str, method: str = "nearest_neighbor", na_mm: float = 50.0) -> dict:
    """The melting temperature in °C, and the method that computed it.

    ``nearest_neighbor``: Biopython's Tm_NN (Allawi & SantaLucia 1997 table, 25 nM of
    each strand, Na+ ``na_mm`` mM); ``wallace``: 2(A+T) + 4(G+C), for primers under 14
    nt; ``gc``: Biopython's Tm_GC empirical formula with the salt correction.
    """
    from Bio.SeqUtils import MeltingTemp

    dna = clean(seq).replace("U", "T")
    if method == "nearest_neighbor":
        tm = MeltingTemp.Tm_NN(dna, Na=na_mm)
        described = f"nearest-neighbor (Biopython Tm_NN, DNA_NN3, Na+ {na_mm:g} mM, 25 nM strands)"
    elif method == "wallace":
        tm = MeltingTemp.Tm_Wallace(dna)
        described = "Wallace rule 2(A+T) + 4(G+C)"
    elif method == "gc":
        tm = MeltingTemp.Tm_GC(dna, Na=na_mm)
        described = f"GC-content formula (Biopython Tm_GC, Na+ {na_mm:g} mM)"
    else:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(MELTING_METHODS)}")
    return {"tm_celsius": round(float(tm), 2), "method": described}


def wallace_tm(seq: str) -> int:
    """The melting temperature in °C by the Wallace rule, 2(A+T) + 4(G+C) (Wallace et al.
    1979; for primers of about 14 to 20 nt): a value a reader computes by hand."""
    counts = Counter(clean(seq))
    return 2 * (counts["A"] + counts["T"] + counts["U"]) + 4 * (counts["G"] + counts["C"])


def restriction_sites(seq: str, enzymes: list[str]) -> dict[str, dict]:
    """Where each REBASE enzyme cuts a linear sequence: 1-based positions of the first
    base after each cut on the top strand (Biopython's convention)."""
    from Bio import Restriction
    from Bio.Seq import Seq

    dna = Seq(clean(seq).replace("U", "T"))
    found = {}
    for name in enzymes:
        enzyme = getattr(Restriction, name, None)
        if enzyme is None or enzyme not in Restriction.AllEnzymes:
            raise ValueError(f"unknown restriction enzyme {name!r} (names as in REBASE: EcoRI)")
        found[name] = {"site": str(enzyme.site), "cuts": sorted(enzyme.search(dna, linear=True))}
    return found
