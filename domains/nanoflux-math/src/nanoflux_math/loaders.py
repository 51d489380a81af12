"""Benchmark loaders for GSM8K, GSM-Hard and MATH, in the formats their releases ship.

Every malformed record is a DataFormatError naming the file, the line (or file inside a
folder) and what was expected; a file is loaded whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nanoflux.errors import DataFormatError
from nanoflux.inputs import iter_jsonl, load_json
from nanoflux.records import BenchmarkItem

from .answers import answer_text, last_boxed
from .worked_programs import gsm8k_program


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


def _nonempty(items: list[BenchmarkItem], path: Path, expected: str) -> list[BenchmarkItem]:
    if not items:
        raise DataFormatError(f"{path}: no items", hint=f"expected {expected}")
    return items


GSM8K_FIELDS = "JSONL with fields question, answer (ending in '#### N')"


def load_gsm8k(path: Path) -> list[BenchmarkItem]:
    """GSM8K: ``{"question", "answer"}`` per line; the answer ends with ``#### N``."""
    items = []
    for n, (where, record) in enumerate(read_jsonl(path), 1):
        question = text_field(record, "question", where, GSM8K_FIELDS)
        answer = text_field(record, "answer", where, GSM8K_FIELDS)
        if "####" not in answer:
            raise DataFormatError(f"{where}: field 'answer' has no '#### N' final answer")
        solution, final = answer.rsplit("####", 1)
        final = final.strip().replace(",", "")
        if not final:
            raise DataFormatError(f"{where}: nothing after '####' in field 'answer'")
        meta = {"solution": solution.strip()}
        program = gsm8k_program(question, solution, final)
        if program:  # what a code-first Attacker is shown of a seed (worked_programs)
            meta["program"] = program
        items.append(
            BenchmarkItem(id=f"gsm8k-{path.stem}-{n}", question=question, answer=final, meta=meta)
        )
    return _nonempty(items, path, GSM8K_FIELDS)


GSM_HARD_FIELDS = "JSONL with fields input, target (a number), code"


def load_gsm_hard(path: Path) -> list[BenchmarkItem]:
    """GSM-Hard: ``{"input", "target", "code"}`` per line; ``target`` is a number."""
    items = []
    for n, (where, record) in enumerate(read_jsonl(path), 1):
        question = text_field(record, "input", where, GSM_HARD_FIELDS)
        target = record.get("target")
        if isinstance(target, bool) or not isinstance(target, int | float | str) or target == "":
            raise DataFormatError(
                f"{where}: field 'target' is {'missing' if target is None else repr(target)}",
                hint=f"expected {GSM_HARD_FIELDS}",
            )
        meta = {"code": record["code"]} if isinstance(record.get("code"), str) else {}
        items.append(
            BenchmarkItem(
                id=f"gsm-hard-{path.stem}-{n}",
                question=question,
                answer=answer_text(target),
                meta=meta,
            )
        )
    return _nonempty(items, path, GSM_HARD_FIELDS)


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
    meta["solution"] = solution
    return BenchmarkItem(id=id, question=problem, answer=answer.strip(), meta=meta)


def load_math(path: Path) -> list[BenchmarkItem]:
    """MATH: a folder of one-problem ``.json`` files (searched recursively, as the release
    ships ``test/algebra/1.json``), one ``.json`` file (a problem or a list), or JSONL."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        items = [
            _math_item(load_json(f), str(f), f"math-{f.relative_to(path).with_suffix('')}")
            for f in files
        ]
        return _nonempty(items, path, "a folder of MATH .json files")
    _require_file(path)
    if path.suffix == ".jsonl":
        items = [
            _math_item(record, where, f"math-{path.stem}-{n}")
            for n, (where, record) in enumerate(read_jsonl(path), 1)
        ]
        return _nonempty(items, path, MATH_FIELDS)
    data = load_json(path)
    if isinstance(data, list):
        items = [
            _math_item(record, f"{path}[{i}]", f"math-{path.stem}-{i}")
            for i, record in enumerate(data)
        ]
        return _nonempty(items, path, MATH_FIELDS)
    return [_math_item(data, str(path), f"math-{path.stem}")]


LOADERS = {"gsm8k": load_gsm8k, "gsm-hard": load_gsm_hard, "math": load_math}
