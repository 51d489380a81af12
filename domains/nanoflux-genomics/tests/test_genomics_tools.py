"""Worked examples for the genomics tools.

Sources: Rosalind problems' sample datasets (rosalind.info: DNA, REVC, GC, PROT, HAMM,
SUBS, ORF); Compeau & Pevzner, "Bioinformatics Algorithms" ch. 1 (PatternCount,
FrequentWords); the NCBI genetic codes (table 2, vertebrate mitochondrial); the IUPAC
nucleotide codes (Cornish-Bowden 1985); Wallace et al. 1979 (Tm = 2(A+T) + 4(G+C));
the Biopython Tutorial, "Calculating the melting temperature" (Tm_NN example); REBASE
(EcoRI G^AATTC, BamHI G^GATCC).
"""

from __future__ import annotations

import pytest
from nanoflux_genomics import tools

from nanoflux.testing import JudgeToolContract

ROSALIND_GC_0808 = (
    "CCACCCTCGTGGTATGGCTAGGCATTCAGGAACCGGAGAACGCTTCAGACCAGCCCGGACTGGGAACCTGCGGGCAGTAGGTGGAAT"
)
ROSALIND_ORF = (
    "AGCCATGTAGCTAACTCAGGTTACATGGGGATGACCCCGCGACTTGGATTAGAGTCTCTTTTGGAATAAGCCTGAATGATCCGAG"
    "TAGCATCTCAG"
)


class TestReverseComplement(JudgeToolContract):
    registered_as = "genomics.reverse_complement"

    @pytest.fixture
    def tool(self):
        return tools.reverse_complement

    @pytest.fixture
    def cases(self):
        return [
            ({"seq": "AAAACCCGGT"}, "ACCGGGTTTT"),  # Rosalind REVC sample
            ({"seq": "AUGC"}, "GCAU"),  # RNA pairs A-U
            # IUPAC: R (A/G) pairs with Y (C/T), N with N
            ({"seq": "ACGTRYN"}, "NRYACGT"),
            ({"seq": ">primer\nacgt tt"}, "AAACGT"),  # FASTA header, case, spaces
        ]


class TestGcContent(JudgeToolContract):
    registered_as = "genomics.gc_content"

    @pytest.fixture
    def tool(self):
        return tools.gc_content

    @pytest.fixture
    def cases(self):
        return [
            ({"seq": ROSALIND_GC_0808}, 0.60919540),  # Rosalind GC sample: 60.919540%
            # Rosalind DNA sample has 20 A, 12 C, 17 G, 21 T: GC = 29/70
            (
                {"seq": "AGCTTTTCATTCTGACTGCAACGGGCAATATGTCTCTGTGTGGATTAAAAAAAGAGTGTCTGATAGCAGC"},
                29 / 70,
            ),
            ({"seq": "GCNNAT"}, 0.5),  # N says nothing about strength: 2 of 4 known
        ]


class TestNucleotideCounts(JudgeToolContract):
    registered_as = "genomics.nucleotide_counts"

    @pytest.fixture
    def tool(self):
        return tools.nucleotide_counts

    @pytest.fixture
    def cases(self):
        # Rosalind DNA sample answer: 20 12 17 21
        seq = "AGCTTTTCATTCTGACTGCAACGGGCAATATGTCTCTGTGTGGATTAAAAAAAGAGTGTCTGATAGCAGC"
        return [({"seq": seq}, {"A": 20, "C": 12, "G": 17, "T": 21})]


class TestTranslate(JudgeToolContract):
    registered_as = "genomics.translate"

    @pytest.fixture
    def tool(self):
        return tools.translate

    @pytest.fixture
    def cases(self):
        prot = "AUGGCCAUGGCGCCCAGAACUGAGAUCAAUAGUACCCGUAUUAACGGGUGA"
        return [
            ({"seq": prot}, "MAMAPRTEINSTRING*"),  # Rosalind PROT sample (stop shown as *)
            ({"seq": prot, "to_stop": True}, "MAMAPRTEINSTRING"),
            # NCBI table 2: TGA is Trp and AGA a stop in vertebrate mitochondria
            ({"seq": "TGAAGA", "table": 2}, "W*"),
            ({"seq": "TGAAGA"}, "*R"),  # table 1: TGA stop, AGA Arg
        ]


class TestFindOrfs(JudgeToolContract):
    registered_as = "genomics.find_orfs"

    @pytest.fixture
    def tool(self):
        return tools.find_orfs

    @pytest.fixture
    def cases(self):
        return [({"seq": ROSALIND_ORF, "min_len": 1, "nested": True}, None)]

    def assert_value(self, value, expected):
        # Rosalind ORF sample output: the distinct proteins of every ATG...stop on both strands
        assert {orf["protein"] for orf in value} == {
            "MLLGSFRLIPKETLIQVAGSSPCNLS",
            "M",
            "MGMTPRLGLESLLE",
            "MTPRLGLESLLE",
        }

    def test_coordinates_and_nesting(self, tool):
        # ATG AAA TAA at 1-9 on the plus strand: one ORF of 2 amino acids, stop included
        (orf,) = tool.call({"seq": "ATGAAATAAGG", "min_len": 1, "both_strands": False}).value
        assert (orf["start"], orf["end"], orf["strand"], orf["protein"]) == (1, 9, "+", "MK")
        # its reverse complement holds the same ORF on the minus strand, same coordinates
        rc = "CCTTATTTCAT"
        (orf,) = tool.call({"seq": rc, "min_len": 1}).value
        assert (orf["start"], orf["end"], orf["strand"]) == (3, 11, "-")
        assert tool.call({"seq": "ATGAAATAAGG", "min_len": 3}).value == []


class TestMeltingTemp(JudgeToolContract):
    registered_as = "genomics.melting_temp"

    @pytest.fixture
    def tool(self):
        return tools.melting_temp

    @pytest.fixture
    def cases(self):
        tutorial = "CGTTCCAAAGATGTGGGCATGAGCTTAC"
        return [
            # Wallace rule: 10 A/T and 10 G/C give 2*10 + 4*10 = 60
            ({"seq": "AAAAATTTTTGGGGGCCCCC", "method": "wallace"}, 60.0),
            # Biopython Tutorial: Tm_Wallace 84.00 (14 A/T, 14 G/C), Tm_NN 60.32
            ({"seq": tutorial, "method": "wallace"}, 84.0),
            ({"seq": tutorial}, 60.32),
        ]

    def assert_value(self, value, expected):
        assert value["tm_celsius"] == pytest.approx(expected, abs=0.01)
        assert value["method"]


class TestHamming(JudgeToolContract):
    registered_as = "genomics.hamming"

    @pytest.fixture
    def tool(self):
        return tools.hamming

    @pytest.fixture
    def cases(self):
        return [
            ({"a": "GAGCCTACTAACGGGAT", "b": "CATCGTAATGACGGCCT"}, 7),  # Rosalind HAMM
            ({"a": "ACGT", "b": "ACGT"}, 0),
        ]

    def test_unequal_lengths_fail_cleanly(self, tool):
        result = tool.call({"a": "ACG", "b": "AC"})
        assert not result.ok and "length" in result.error


class TestFindMotif(JudgeToolContract):
    registered_as = "genomics.find_motif"

    @pytest.fixture
    def tool(self):
        return tools.find_motif

    @pytest.fixture
    def cases(self):
        return [
            ({"seq": "GATATATGCATATACTT", "motif": "ATAT"}, [2, 4, 10]),  # Rosalind SUBS
            ({"seq": "GCGCG", "motif": "GCG"}, [1, 3]),  # PatternCount("GCGCG", "GCG") = 2
        ]


class TestKmerCounts(JudgeToolContract):
    registered_as = "genomics.kmer_counts"

    @pytest.fixture
    def tool(self):
        return tools.kmer_counts

    @pytest.fixture
    def cases(self):
        # Compeau & Pevzner FrequentWords sample: the most frequent 4-mers are CATG and GCAT
        return [({"seq": "ACGTTGCATGTCGCATGATGCATGAGAGCT", "k": 4}, ["CATG", "GCAT"])]

    def assert_value(self, value, expected):
        assert value["most_frequent"] == expected
        assert value["max_count"] == 3


class TestRestrictionSites(JudgeToolContract):
    registered_as = "genomics.restriction_sites"

    @pytest.fixture
    def tool(self):
        return tools.restriction_sites

    @pytest.fixture
    def cases(self):
        return [
            # EcoRI cuts G^AATTC: the G at 4, so the 3' fragment starts at 5
            ({"seq": "AAAGAATTCAAA", "enzymes": ["EcoRI"]}, {"EcoRI": [5]}),
            # BamHI cuts G^GATCC twice here; EcoRI finds nothing
            (
                {"seq": "GGATCCAAGGATCC", "enzymes": ["BamHI", "EcoRI"]},
                {"BamHI": [2, 10], "EcoRI": []},
            ),
        ]

    def assert_value(self, value, expected):
        assert {name: found["cuts"] for name, found in value.items()} == expected

    def test_unknown_enzyme(self, tool):
        result = tool.call({"seq": "ACGT", "enzymes": ["NotAnEnzyme"]})
        assert not result.ok and "NotAnEnzyme" in result.error


def test_bad_letters_are_named():
    result = tools.gc_content.call({"seq": "ACGTXACG"})
    assert not result.ok
    assert "'X' at position 5" in result.error
