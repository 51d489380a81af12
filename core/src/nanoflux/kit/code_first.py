"""The free screens of a code-first question, as a domain declares them.

A domain with a program tool writes ``SCREEN = CodeFirstScreen(...)`` with what its field
knows (the constants a reader brings, the pack's functions and the ranges of their
arguments, its generators, its seed file) and returns ``SCREEN(question)`` from its
``screen()``. Each check is one of the kit's (:mod:`.stated`, :mod:`.calls`), and each
problem it finds is one sentence of the Attacker's repair turn.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..records import Question
from .calls import Range, argument_problems, calls_in, unshown_problems
from .stated import (
    EXACT,
    READER_CONSTANTS,
    answer_problems,
    reused_numbers_problems,
    seed_numbers,
    stated_numbers_problems,
)


@dataclass(frozen=True)
class CodeFirstScreen:
    """What makes a code-first question unsolvable as written, or a copy, in order:

    1. what a ``generators`` function builds and the problem does not show (with the value
       to paste);
    2. a number the program uses that the problem does not state, nor a reader bring
       (``constants``), leaving out the generators' arguments;
    3. an argument of a call of one of ``functions`` that the problem does not state or
       name (``words``), or that lies outside ``ranges``;
    4. exactly the numbers of a program in ``seeds`` (a JSONL file of seed problems);
    5. an answer with more than ``decimals`` decimals (``exact`` says why it should not
       have them), or negative where the problem has no word for it, or (with
       ``whole_counts``) with a fraction where the question asks how many things.

    A question without a program is not screened.
    """

    constants: Collection[float] = READER_CONSTANTS
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    ranges: Mapping[str, Range] = field(default_factory=dict)
    words: Mapping[str, Collection[str]] = field(default_factory=dict)
    generators: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    seeds: str | None = None
    decimals: int = 2
    exact: str = EXACT
    whole_counts: bool = False

    def __call__(self, question: Question) -> list[str]:
        program, text = question.program, question.text
        if not program:
            return []
        functions = {**self.functions, **self.generators}
        calls = calls_in(program, functions, pure=self.generators) if functions else []
        return [
            *unshown_problems(text, program, self.generators),
            *stated_numbers_problems(
                text, program, constants=self.constants, given=self.generators
            ),
            *argument_problems(text, calls, self.ranges, words=self.words, given=self.generators),
            *reused_numbers_problems(program, seed_numbers(self.seeds) if self.seeds else ()),
            *answer_problems(
                text,
                question.reference_answer,
                decimals=self.decimals,
                exact=self.exact,
                whole_counts=self.whole_counts,
            ),
        ]
