"""The genomics pack against the domain contract, its verification and its loader."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from nanoflux_genomics import GenomicsDomain
from nanoflux_genomics.loaders import load_genome_bench, split_options

from nanoflux.errors import DataFormatError
from nanoflux.plugins import PluginHost
from nanoflux.records import Question, ToolEvidence
from nanoflux.testing import DomainContract

needs_sandbox = pytest.mark.skipif(
    shutil.which("bwrap") is None,  # installed by setup: then it must work
    reason="sandbox unavailable",
)


@pytest.fixture(scope="module")
def genomics_host():
    return PluginHost.load(allow=["genomics"])


@needs_sandbox
class TestGenomicsDomain(DomainContract):
    registered_as = "genomics"

    @pytest.fixture
    def domain(self):
        return GenomicsDomain()

    @pytest.fixture
    def host(self, genomics_host):
        return genomics_host

    @pytest.fixture
    def wrong_answer(self):
        return "42.9"  # the AT content, 9/21


def _caller(host, calls=None):
    def call_tool(tool_id, args):
        if calls is not None:
            calls.append(tool_id)
        return ToolEvidence(tool=tool_id, args=args, result=host.tools.get(tool_id).call(args))

    return call_tool


def _gathered(host, question, calls=None):
    """What the Judge gathers: the pack's verify(), then the tools that apply to the question."""
    from nanoflux.engine.judge import consulted_tools, gather_evidence

    consulted = consulted_tools(host, "genomics")
    return gather_evidence(GenomicsDomain(), question, _caller(host, calls), consulted)


def _question(text, answer, program=None):
    return Question(
        text=text,
        domain="genomics",
        hops=2,
        skill="reverse_complement",
        reference_answer=answer,
        solution_steps=["s"],
        program=program,
    )


def test_direct_recomputation_without_a_program(genomics_host):
    domain = GenomicsDomain()
    text = "What is the reverse complement of AAAACCCGGT?"  # Rosalind REVC sample
    right = domain.verify(_question(text, "ACCGGGTTTT"), _caller(genomics_host))
    assert right.verified is True
    wrong = domain.verify(_question(text, "TGGCCCAAAA"), _caller(genomics_host))
    assert wrong.verified is False  # one operation, one sequence: a sure contradiction
    hamming = "How many point mutations separate GAGCCTACTAACGGGAT and CATCGTAATGACGGCCT?"
    assert domain.verify(_question(hamming, "7"), _caller(genomics_host)).verified is True


def test_multi_step_questions_are_only_confirmed_by_direct_tools(genomics_host):
    # two operations: the reverse complement is a step here, not the answer
    text = "Take the reverse complement of ATGGCCATTG and report its GC content as a percentage."
    verification = GenomicsDomain().verify(_question(text, "50%"), _caller(genomics_host))
    supports = {e.tool: e.supports_reference for e in verification.evidence}
    assert supports == {"genomics.reverse_complement": None, "genomics.gc_content": True}


@needs_sandbox
def test_programs_can_import_the_pack_in_the_sandbox(genomics_host):
    program = (
        "from nanoflux_genomics.sequences import translate\n"
        "def solution():\n"
        "    return translate('AUGGCCAUGGCGCCCAGAACUGAGAUCAAUAGUACCCGUAUUAACGGGUGA')\n"
    )
    question = _question("Translate the mRNA.", "MAMAPRTEINSTRING", program)
    calls = []
    verification = _gathered(genomics_host, question, calls)
    # "Translate the mRNA." states no sequence: the translate tool does not apply; the
    # steps ("s") hold no calculation, which genomics.arithmetic reads and passes over
    assert calls == ["genomics.python", "genomics.arithmetic"]
    assert [(e.tool, e.supports_reference) for e in verification.evidence] == [
        ("genomics.python", True),
        ("genomics.arithmetic", None),
    ]


def test_the_sequence_tools_declare_when_they_apply_and_verify_names_no_tool(genomics_host):
    from nanoflux_genomics.domain import OPERATIONS

    assert {t.id for t in OPERATIONS} == {
        "genomics.reverse_complement",
        "genomics.gc_content",
        "genomics.hamming",
        "genomics.translate",
    }
    # a Hamming question whose two sequences differ in length: asked, but it does not
    # apply, and the reverse complement asked beside it stays a step (cannot contradict)
    text = "How many point mutations separate ATGGCCATTG and ATGGCC after a reverse complement?"
    verification = _gathered(genomics_host, _question(text, "x"))
    supports = {e.tool: e.supports_reference for e in verification.evidence}
    assert supports == {"genomics.reverse_complement": None, "genomics.arithmetic": None}


GENOME_BENCH_ROW = {
    "question": "Question context: I am knocking out a gene in HEK293 cells. a. note. "
    "Question: Which nuclease needs a TTTV PAM? a. Cas9 b. Cas12a c. Cas13 d. dCas9 e. TALEN",
    "answer": "<explanation>Cas12a (Cpf1) recognises a T-rich PAM.</explanation> "
    "<answer>b</answer>",
}


def test_split_options_takes_the_last_run_of_letters():
    stem, options = split_options(GENOME_BENCH_ROW["question"])
    assert options == ["Cas9", "Cas12a", "Cas13", "dCas9", "TALEN"]
    assert stem.endswith("Which nuclease needs a TTTV PAM?")
    assert "a. note." in stem


def test_genome_bench_jsonl(tmp_path):
    path = tmp_path / "genome_bench.jsonl"
    path.write_text(json.dumps(GENOME_BENCH_ROW) + "\n", "utf-8")
    (item,) = load_genome_bench(path)
    assert item.answer == "b"
    assert item.choices[1] == "Cas12a"
    assert item.solution == "Cas12a (Cpf1) recognises a T-rich PAM."  # the <explanation>
    assert GenomicsDomain().check_answer(item.answer, "Cas12a", choices=item.choices)


def test_genome_bench_errors(tmp_path):
    path = tmp_path / "bad.jsonl"
    row = {**GENOME_BENCH_ROW, "answer": "b"}
    path.write_text(json.dumps(GENOME_BENCH_ROW) + "\n" + json.dumps(row) + "\n", "utf-8")
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: .*<answer>"):
        list(load_genome_bench(path))
    path.write_text(json.dumps({"answer": "<answer>a</answer>"}) + "\n", "utf-8")
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:1: field 'question' is missing"):
        list(load_genome_bench(path))


def test_a_record_is_read_in_time_linear_in_its_length(tmp_path):
    # 200 kB of option markers and unclosed tags: both readers retried from every
    # marker or tag (9 s for 130 kB); now one pass each
    row = {
        "question": "Which? " + "a. b. " * 33_000,
        "answer": "<explanation>" * 15_000 + "<answer>a</answer>",
    }
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(row) + "\n", "utf-8")
    started = time.perf_counter()
    (item,) = load_genome_bench(path)
    assert time.perf_counter() - started < 1
    assert (item.answer, item.choices, item.solution) == ("a", None, None)


def test_genome_bench_save_to_disk_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "Genome-Bench"
    table = datasets.Dataset.from_list([GENOME_BENCH_ROW, GENOME_BENCH_ROW])
    datasets.DatasetDict({"train": table, "test": table.select([0])}).save_to_disk(str(folder))
    items = list(load_genome_bench(folder))
    assert len(items) == 1  # the test split
    assert len(list(load_genome_bench(folder / "train"))) == 2


def test_a_folder_without_datasets_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    from nanoflux.errors import NotAvailableError

    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed
    with pytest.raises(NotAvailableError, match="datasets"):
        list(load_genome_bench(tmp_path))
