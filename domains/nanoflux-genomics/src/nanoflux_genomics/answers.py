"""Comparing genomics answers: choice letters, sequences, numbers at their precision, text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nanoflux.answers import answer_key as _key
from nanoflux.answers import choice_index, numbers_match, single_number

__all__ = ["choice_index", "numbers_match", "single_number"]

_SEQUENCE = re.compile(r"^[ACGTURYSWKMBDHVN*\-]+$")
_PROTEIN = re.compile(r"^[ACDEFGHIKLMNPQRSTVWYX*]+$")


# a strand's ends as written around it: 5'-ATG...-3', 5' ATG 3', (5')ATG(3')
_ENDS = re.compile(r"^\(?5['′]\)?-?|-?\(?3['′]\)?$")


def _unlabelled(text: str) -> str:
    return _ENDS.sub("", re.sub(r"\s", "", str(text)).upper().rstrip("."))


def is_sequence(text: str) -> bool:
    s = _unlabelled(text)
    return (
        len(s) >= 3
        and bool(_SEQUENCE.match(s) or _PROTEIN.match(s))
        and not any(c.isdigit() for c in s)
    )


def sequence_key(text: str) -> str:
    return _unlabelled(text).replace("-", "").rstrip("*")


def same_answer(reference: str, candidate: str, choices: Sequence[str] | None = None) -> bool:
    if choices:
        ref, cand = choice_index(reference, choices), choice_index(candidate, choices)
        if ref is not None and cand is not None:
            return ref == cand
    if is_sequence(reference) and is_sequence(candidate):
        return sequence_key(reference) == sequence_key(candidate)
    x, y = single_number(reference), single_number(candidate)
    if x is not None and y is not None:
        return numbers_match(x, y)
    return _key(reference) == _key(candidate)
