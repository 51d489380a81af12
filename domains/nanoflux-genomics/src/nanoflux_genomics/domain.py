"""The ``genomics`` domain: sequence problems whose answer a program computes with the pack's
functions, on sequences the pack's generators build (code-first), recomputed by tools."""

from __future__ import annotations

from collections.abc import Sequence

from nanoflux.domains import BenchmarkLoader, Domain, PromptSet, ToolCaller, Verification
from nanoflux.kit import as_text, jsonl_benchmark, noted
from nanoflux.records import BenchmarkItem, Question, ToolEvidence
from nanoflux.tools import JudgeTool

from . import sequences
from .answers import same_answer, single_number
from .loaders import LOADERS
from .screen import as_drafted, complete, screen, seeds_path
from .tools import SEQUENCE, TOOLS, Operation, gc_content

SKILLS = (
    "reverse_complement",
    "gc_content",
    "translation_and_genetic_code",
    "open_reading_frames",
    "melting_temperature",
    "restriction_digest",
    "mutations_and_distance",
    "motifs_and_kmers",
    "crispr_and_genome_editing",
)

#: the tools that recompute an operation a question asks for (see tools.Operation)
OPERATIONS = [tool for tool in TOOLS if isinstance(tool.applies_to, Operation)]


class GenomicsDomain(Domain):
    name = "genomics"
    description = "Genomics: sequence tools and sandboxed programs recompute the answer"
    skills = SKILLS
    supports_programs = True
    # code-first: the Attacker writes a problem and solution(), which builds its sequences
    # with the pack's generators; its value, run by genomics.python, is the reference
    program_tool = "genomics.python"
    # a number, or a sequence of bases or amino acids
    answer_pattern = r"^-?[0-9]+([.][0-9]+)?$|^[A-Z*]+$"

    def prompts(self) -> PromptSet:
        return PromptSet.from_package("nanoflux_genomics")

    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        return same_answer(reference, candidate, choices)

    def complete(self, question: Question) -> tuple[Question, list[str]]:
        """Each sequence the program builds and the problem does not show, written in
        place of the Attacker's guess at it, or named before the question
        (:func:`.screen.complete`)."""
        return complete(question)

    def as_drafted(self, seed: BenchmarkItem) -> BenchmarkItem:
        """The seed with ``<sequence>`` where its problem shows a generated sequence, as
        the Attacker is asked to write (:func:`.screen.as_drafted`)."""
        return as_drafted(seed)

    def screen(self, question: Question) -> list[str]:
        """The sequences the program builds shown verbatim, typed ones short, numbers
        stated, a value rounded, not a seed's numbers (:mod:`.screen`)."""
        return screen(question)

    def verify(self, question: Question, call_tool: ToolCaller) -> Verification:
        """Recompute the operations the question asks for on the sequences it states, with
        the tools that apply (:data:`OPERATIONS`). A recomputation contradicts the
        reference only when the question asks for exactly one operation on exactly the
        sequences it needs and has no program (whose value is the reference); otherwise
        (a multi-step question) it can only confirm.

        The question's program is run by ``genomics.python``, which the Judge consults
        through its ``applies_to`` like any tool that applies and was not called here.
        """
        asked = [tool for tool in OPERATIONS if tool.applies_to.asked(question)]
        stated = len(SEQUENCE.findall(question.text))
        evidence = []
        for tool in asked:
            args = tool.applies_to(question)
            if args is not None:
                sure = len(asked) == 1 and stated == tool.applies_to.sequences
                sure = sure and not question.program
                found = call_tool(tool.id, args)
                evidence.append(_read(tool, found, question.reference_answer, sure=sure))
        return Verification(evidence=evidence)

    def loaders(self) -> dict[str, BenchmarkLoader]:
        return dict(LOADERS) | {"jsonl": JSONL}

    def default_seeds(self) -> str:
        # problems written for this pack, each with its program (seeds/README.md)
        return f"genomics:jsonl:{seeds_path()}"

    def example_question(self) -> Question:
        primer = sequences.dna(seed=50, length=20)
        return Question(
            text=(
                f"A PCR primer has the sequence 5'-{primer}-3'. What is the GC content of "
                "its reverse complement, as a percentage rounded to one decimal place?"
            ),
            domain=self.name,
            hops=3,
            skill="gc_content",
            reference_answer="60",
            solution_steps=[
                "Complementing swaps G with C and A with T, so the GC count is unchanged.",
                "The primer has 20 bases, 12 of them G or C.",
                "12 / 20 = 0.6, which is 60%.",
            ],
            explanation="The reverse complement is a distraction: GC content is invariant.",
            program=(
                "from nanoflux_genomics.sequences import dna, gc_content, reverse_complement\n\n"
                "def solution():\n"
                "    primer = dna(seed=50, length=20)\n"
                "    fraction = gc_content(reverse_complement(primer))\n"
                "    return round(100 * fraction, 1)\n"
            ),
        )


#: questions, answers and programs in JSONL: the pack's seed problems, or a user's own
JSONL = jsonl_benchmark(
    "genomics",
    question="question",
    answer="answer",
    choices="choices",
    program="program",
    meta=("skill",),
)


def _read(tool: JudgeTool, evidence: ToolEvidence, reference: str, *, sure: bool) -> ToolEvidence:
    """What a recomputation says of the reference: ``sure``, a differing value contradicts."""
    result = evidence.result
    if not result.ok:
        return noted(evidence, None, str(result.error))
    match = _matches(tool, result.value, reference)
    note = f"{tool.id} gives {as_text(result.value)}"
    if not match:
        note += " (a single-step question: contradicts)" if sure else " (other steps follow)"
    return noted(evidence, True if match else (False if sure else None), note)


def _matches(tool: JudgeTool, value, reference: str) -> bool:
    if tool is gc_content:  # the question may ask for a fraction or a percentage
        number = single_number(reference)
        if number is None:
            return False
        target = number[0] / 100 if number[2] or number[0] > 1 else number[0]
        places = number[1] + (2 if number[2] or number[0] > 1 else 0)
        return abs(float(value) - target) <= max(0.5 * 10**-places, 1e-9)
    return same_answer(reference, as_text(value))
