"""Comparing medical answers: choice letters, yes/no/maybe, numbers at their precision, text."""

from __future__ import annotations

from collections.abc import Sequence

from nanoflux.answers import answer_key as _key
from nanoflux.answers import choice_index, numbers_match, single_number

__all__ = ["choice_index", "numbers_match", "single_number"]

REL_TOL = 0.01


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
        # clinical values are rounded by convention: 1 % covers 18 vs 18.016 mg/dL per mmol/L
        return numbers_match(x, y, rel_tol=REL_TOL)
    return _key(reference) == _key(candidate)
