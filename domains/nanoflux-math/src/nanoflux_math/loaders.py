"""Benchmark loaders for GSM8K, GSM-Hard and MATH, in the formats their releases ship.

Every malformed record is a DataFormatError naming the file, the line (or file inside a
folder) and what was expected. Each loader yields its items as it reads them, so a run
that takes the first few (``--limit``) reads no further; a file with no items is an
error of :func:`nanoflux.domains.load_benchmark`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nanoflux.errors import DataFormatError
from nanoflux.inputs import iter_jsonl, load_json
from nanoflux.records import BenchmarkItem

from .answers import answer_text, last_boxed
from .worked_programs import gsm8k_program, strip_annotations


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file", hint="check the PATH part of the spec")


def read_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, record)`` per non-blank line; ``where`` is ``file:line``."""
    _require_file(path)
    yield from iter_jsonl(path)


def text_field(record: dict[str, Any], key: str, where: str, expected: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        got = "missing" if key not in record else f"a {type(value).__name__}"
        raise DataFormatError(f"{where}: field {key!r} is {got}", hint=f"expected {expected}")
    return value


GSM8K_FIELDS = "JSONL with fields question, answer (ending in '#### N')"


def load_gsm8k(path: Path) -> Iterator[BenchmarkItem]:
    """GSM8K: JSONL of ``{"question", "answer"}``, the answer ending in ``#### N``.

    The item's solution is the answer's worked steps without their calculator
    annotations; its program, those annotations read as a ``solution()`` (see
    :mod:`.worked_programs`), where they recompute the answer."""
    for n, (where, record) in enumerate(read_jsonl(path), 1):
        question = text_field(record, "question", where, GSM8K_FIELDS)
        answer = text_field(record, "answer", where, GSM8K_FIELDS)
        if "####" not in answer:
            raise DataFormatError(f"{where}: field 'answer' has no '#### N' final answer")
        solution, final = answer.rsplit("####", 1)
        final = final.strip().replace(",", "")
        if not final:
            raise DataFormatError(f"{where}: nothing after '####' in field 'answer'")
        yield BenchmarkItem(
            id=f"gsm8k-{path.stem}-{n}",
            question=question,
            answer=final,
            solution=strip_annotations(solution).strip() or None,
            program=gsm8k_program(question, solution, final),
        )


GSM_HARD_FIELDS = "JSONL with fields input, target (a number), code"


def load_gsm_hard(path: Path) -> Iterator[BenchmarkItem]:
    """GSM-Hard: JSONL of ``{"input", "target", "code"}``; ``target`` is a number."""
    for n, (where, record) in enumerate(read_jsonl(path), 1):
        question = text_field(record, "input", where, GSM_HARD_FIELDS)
        target = record.get("target")
        if isinstance(target, bool) or not isinstance(target, int | float | str) or target == "":
            raise DataFormatError(
                f"{where}: field 'target' is {'missing' if target is None else repr(target)}",
                hint=f"expected {GSM_HARD_FIELDS}",
            )
        meta = {"code": record["code"]} if isinstance(record.get("code"), str) else {}
        yield BenchmarkItem(
            id=f"gsm-hard-{path.stem}-{n}", question=question, answer=answer_text(target), meta=meta
        )


MATH_FIELDS = "MATH records with fields problem, solution (with \\boxed{answer})"


def _math_item(record: Any, where: str, id: str) -> BenchmarkItem:
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object", hint=f"expected {MATH_FIELDS}")
    problem = text_field(record, "problem", where, MATH_FIELDS)
    solution = text_field(record, "solution", where, MATH_FIELDS)
    answer = record.get("answer") if isinstance(record.get("answer"), str) else None
    answer = answer or last_boxed(solution)
    if not answer or not answer.strip():
        raise DataFormatError(f"{where}: field 'solution' has no \\boxed{{...}} answer")
    meta = {k: record[k] for k in ("level", "type") if k in record}
    return BenchmarkItem(
        id=id, question=problem, answer=answer.strip(), solution=solution, meta=meta
    )


def load_math(path: Path) -> Iterator[BenchmarkItem]:
    """MATH: a folder of one-problem ``.json`` files (searched recursively, as the release
    ships ``test/algebra/1.json``), one ``.json`` file (a problem or a list), or JSONL
    of records with fields problem, solution (with \\boxed{answer})."""
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*.json") if p.is_file()):
            yield _math_item(load_json(f), str(f), f"math-{f.relative_to(path).with_suffix('')}")
        return
    _require_file(path)
    if path.suffix == ".jsonl":
        for n, (where, record) in enumerate(read_jsonl(path), 1):
            yield _math_item(record, where, f"math-{path.stem}-{n}")
        return
    data = load_json(path)
    if isinstance(data, list):
        for i, record in enumerate(data):
            yield _math_item(record, f"{path}[{i}]", f"math-{path.stem}-{i}")
        return
    yield _math_item(data, str(path), f"math-{path.stem}")


LOADERS = {"gsm8k": load_gsm8k, "gsm-hard": load_gsm_hard, "math": load_math}
