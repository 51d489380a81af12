"""Comparing medical answers: choice letters, yes/no/maybe, numbers at the reference's
precision, text."""

from __future__ import annotations

from collections.abc import Sequence

from nanoflux.answers import answer_key as _key
from nanoflux.answers import choice_index, numbers_match, single_number
from nanoflux.kit import rounds_to_reference

__all__ = ["choice_index", "numbers_match", "single_number"]


def same_answer(reference: str, candidate: str, choices: Sequence[str] | None = None) -> bool:
    if choices:
        ref, cand = choice_index(reference, choices), choice_index(candidate, choices)
        if ref is not None and cand is not None:
            return ref == cand
    if _key(reference) in ("yes", "no", "maybe"):  # PubMedQA: "Yes, because ..." is yes
        words = _key(candidate).split()
        return bool(words) and words[0] == _key(reference)
    x, y = single_number(reference), single_number(candidate)
    if x is not None and y is not None:
        # at the reference's written precision: a QTc of 439 is not reached by a solution
        # that ends at 441, which a tolerance of 1 % would have let through
        return rounds_to_reference(x, y)
    return _key(reference) == _key(candidate)
