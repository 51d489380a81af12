"""The ``genomics`` domain: sequence questions recomputed by tools and by sandboxed programs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nanoflux.domains import BenchmarkLoader, Domain, PromptSet, ToolCaller, Verification
from nanoflux.kit import as_text, check_program, noted
from nanoflux.records import Question, ToolEvidence

from .answers import same_answer, single_number
from .loaders import LOADERS

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

_SEQUENCE = re.compile(r"(?<![A-Za-z])[ACGTU]{6,}(?![A-Za-z])")

# Operations a question can ask for, recognised by keywords, and how to recompute them.
_OPERATIONS = {
    "reverse_complement": (r"reverse[- ]complement", "genomics.reverse_complement"),
    "gc_content": (r"\bgc[- ]?(?:content|fraction|percentage|%)", "genomics.gc_content"),
    "hamming": (r"hamming|point mutations|mismatch", "genomics.hamming"),
    "translate": (r"translat|amino[- ]acid sequence|protein sequence", "genomics.translate"),
}


class GenomicsDomain(Domain):
    name = "genomics"
    description = "Genomics: sequence tools and sandboxed programs recompute the answer"
    skills = SKILLS
    supports_programs = True

    def prompts(self) -> PromptSet:
        return PromptSet.from_package("nanoflux_genomics")

    def check_answer(
        self, reference: str, candidate: str, *, choices: Sequence[str] | None = None
    ) -> bool:
        return same_answer(reference, candidate, choices)

    def verify(self, question: Question, call_tool: ToolCaller) -> Verification:
        """Run the question's program, and recompute simple operations on sequences in the
        question text directly with the tools.

        A direct recomputation contradicts the reference only when the question asks for
        exactly one recognised operation on exactly the sequences it needs; otherwise (a
        multi-step question) it can only confirm.
        """
        program = check_program(question, call_tool, "genomics.python", self.check_answer)
        return Verification(evidence=program + self._recompute(question, call_tool))

    def _recompute(self, question: Question, call_tool: ToolCaller) -> list[ToolEvidence]:
        text = question.text
        lowered = text.lower()
        asked = [op for op, (pattern, _) in _OPERATIONS.items() if re.search(pattern, lowered)]
        found = _SEQUENCE.findall(text)
        if not asked or not found:
            return []
        evidence = []
        for op in asked:
            tool_id = _OPERATIONS[op][1]
            if op == "hamming":
                if len(found) != 2 or len(found[0]) != len(found[1]):
                    continue
                args, needed = {"a": found[0], "b": found[1]}, 2
            else:
                args, needed = {"seq": found[0]}, 1
            sure = len(asked) == 1 and len(found) == needed
            result = call_tool(tool_id, args)
            if not result.result.ok:
                evidence.append(noted(result, None, str(result.result.error)))
                continue
            match = _matches(op, result.result.value, question.reference_answer)
            supports = True if match else (False if sure else None)
            note = f"{tool_id} gives {as_text(result.result.value)}"
            if not match:
                note += (
                    " (a single-step question: contradicts)" if sure else " (other steps follow)"
                )
            evidence.append(noted(result, supports, note))
        return evidence

    def loaders(self) -> dict[str, BenchmarkLoader]:
        return dict(LOADERS)

    def example_question(self) -> Question:
        primer = "ATGGCCATTGTAATGGGCCGC"
        return Question(
            text=(
                f"A PCR primer has the sequence 5'-{primer}-3'. What is the GC content of "
                "its reverse complement, as a percentage rounded to one decimal place?"
            ),
            domain=self.name,
            hops=3,
            skill="gc_content",
            reference_answer="57.1",
            solution_steps=[
                "Complementing swaps G with C and A with T, so the GC count is unchanged.",
                "The primer has 21 bases, 12 of them G or C.",
                "12 / 21 = 0.5714, which is 57.1%.",
            ],
            explanation="The reverse complement is a distraction: GC content is invariant.",
            program=(
                "from nanoflux_genomics.sequences import gc_content, reverse_complement\n\n"
                "def solution():\n"
                f"    return round(100 * gc_content(reverse_complement({primer!r})), 1)\n"
            ),
        )


def _matches(op: str, value, reference: str) -> bool:
    if op == "gc_content":  # the question may ask for a fraction or a percentage
        number = single_number(reference)
        if number is None:
            return False
        target = number[0] / 100 if number[2] or number[0] > 1 else number[0]
        places = number[1] + (2 if number[2] or number[0] > 1 else 0)
        return abs(float(value) - target) <= max(0.5 * 10**-places, 1e-9)
    return same_answer(reference, as_text(value))
