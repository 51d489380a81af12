"""Loaders for the multiple-choice parts of MultiMedQA, as their public releases ship them.

* ``medqa``: JSONL ``{"question", "options": {"A": .., "E": ..}, "answer_idx": "C", ...}``
  (Jin et al. 2021, the US/USMLE files).
* ``medmcqa``: JSONL ``{"question", "opa".."opd", "cop", ...}`` with ``cop`` 1-based
  (1..4) as in the GitHub release; ``medmcqa-hf`` reads the Hugging Face export, where
  ``cop`` is 0-based (0..3). A ``cop`` of 0 under ``medmcqa`` is an error pointing there.
* ``pubmedqa``: ``ori_pqal.json``, a dict keyed by PMID of ``{"QUESTION", "CONTEXTS",
  "final_decision"}``. The item's question carries the contexts (the task is to answer
  from them); ``meta["question_only"]`` has the question alone.

Multiple-choice answers are normalised to the letter (A-E), choices in letter order.
Each loader yields its items as it reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nanoflux.errors import DataFormatError
from nanoflux.inputs import iter_jsonl, load_json
from nanoflux.records import BenchmarkItem

LETTERS = "ABCDE"


def _read_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file")
    yield from iter_jsonl(path)


def _text(record: dict, key: str, where: str, expected: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        got = "missing" if key not in record else f"{value!r}"[:80]
        raise DataFormatError(f"{where}: field {key!r} is {got}", hint=f"expected {expected}")
    return value.strip()


MEDQA = "JSONL with question, options {A..E: text}, answer_idx (a letter)"


def load_medqa(path: Path) -> Iterator[BenchmarkItem]:
    """MedQA: JSONL with question, options {A..E: text}, answer_idx (a letter)."""
    for n, (where, record) in enumerate(_read_jsonl(path), 1):
        question = _text(record, "question", where, MEDQA)
        options = record.get("options")
        if not isinstance(options, dict) or not options:
            raise DataFormatError(f"{where}: field 'options' is not a dict of letters", hint=MEDQA)
        letters = sorted(options)
        if letters != list(LETTERS[: len(letters)]):
            raise DataFormatError(f"{where}: options {letters} are not A, B, C, ... in order")
        answer = _text(record, "answer_idx", where, MEDQA).upper()
        if answer not in options:
            raise DataFormatError(f"{where}: answer_idx {answer!r} is not one of {letters}")
        choices = [str(options[letter]) for letter in letters]
        meta = {"answer_text": choices[letters.index(answer)]}
        if "meta_info" in record:
            meta["meta_info"] = record["meta_info"]
        yield BenchmarkItem(
            id=f"medqa-{path.stem}-{n}",
            question=question,
            answer=answer,
            choices=choices,
            meta=meta,
        )


MEDMCQA = "JSONL with question, opa, opb, opc, opd, cop"


def _load_medmcqa(path: Path, *, zero_based: bool) -> Iterator[BenchmarkItem]:
    base = 0 if zero_based else 1
    for n, (where, record) in enumerate(_read_jsonl(path), 1):
        question = _text(record, "question", where, MEDMCQA)
        choices = [_text(record, key, where, MEDMCQA) for key in ("opa", "opb", "opc", "opd")]
        cop = record.get("cop")
        if cop is None or cop == -1:
            raise DataFormatError(
                f"{where}: no answer (cop is {cop!r})",
                hint="the public test split has no answers; evaluate on the dev split",
            )
        if isinstance(cop, str) and re.fullmatch(r"[0-9]{1,3}", cop.strip()):
            cop = int(cop)
        if isinstance(cop, bool) or not isinstance(cop, int) or not base <= cop <= base + 3:
            hint = (
                "the Hugging Face export counts from 0: use format medmcqa-hf"
                if cop == 0 and not zero_based
                else f"cop counts the options from {base} ({base}..{base + 3})"
            )
            raise DataFormatError(f"{where}: cop {cop!r} is out of range", hint=hint)
        index = cop - base
        meta = {k: record[k] for k in ("id", "subject_name", "topic_name", "exp") if record.get(k)}
        meta["answer_text"] = choices[index]
        yield BenchmarkItem(
            id=f"medmcqa-{record.get('id') or f'{path.stem}-{n}'}",
            question=question,
            answer=LETTERS[index],
            choices=choices,
            meta=meta,
        )


def load_medmcqa(path: Path) -> Iterator[BenchmarkItem]:
    """MedMCQA: JSONL with question, opa, opb, opc, opd, cop (1..4, the GitHub release)."""
    return _load_medmcqa(path, zero_based=False)


def load_medmcqa_hf(path: Path) -> Iterator[BenchmarkItem]:
    """MedMCQA's Hugging Face export: JSONL with question, opa..opd, cop (0..3)."""
    return _load_medmcqa(path, zero_based=True)


PUBMEDQA = "ori_pqal.json: {PMID: {QUESTION, CONTEXTS, final_decision}}"
DECISIONS = ("yes", "no", "maybe")


def load_pubmedqa(path: Path) -> Iterator[BenchmarkItem]:
    """PubMedQA: ori_pqal.json, {PMID: {QUESTION, CONTEXTS, final_decision}}."""
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file")
    data = load_json(path)
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected an object keyed by PMID", hint=PUBMEDQA)
    for pmid, record in data.items():
        where = f"{path}: PMID {pmid}"
        if not isinstance(record, dict):
            raise DataFormatError(f"{where}: expected an object", hint=PUBMEDQA)
        question = _text(record, "QUESTION", where, PUBMEDQA)
        contexts = record.get("CONTEXTS")
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise DataFormatError(f"{where}: CONTEXTS is not a list of strings", hint=PUBMEDQA)
        decision = _text(record, "final_decision", where, PUBMEDQA).lower()
        if decision not in DECISIONS:
            raise DataFormatError(f"{where}: final_decision {decision!r} is not yes, no or maybe")
        text = f"Context: {' '.join(contexts)}\n\nQuestion: {question}" if contexts else question
        meta = {"question_only": question, "pmid": pmid}
        if isinstance(record.get("LONG_ANSWER"), str):
            meta["long_answer"] = record["LONG_ANSWER"]
        yield BenchmarkItem(
            id=f"pubmedqa-{pmid}",
            question=text,
            answer=decision,
            choices=list(DECISIONS),
            meta=meta,
        )


LOADERS = {
    "medqa": load_medqa,
    "medmcqa": load_medmcqa,
    "medmcqa-hf": load_medmcqa_hf,
    "pubmedqa": load_pubmedqa,
}
