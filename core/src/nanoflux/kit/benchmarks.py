"""A benchmark loader for the commonest release format: JSONL, one item per line.

``jsonl_benchmark("finqa", question="question", answer="answer")`` is a complete loader
for a domain's :meth:`~nanoflux.domains.Domain.loaders`. Every malformed line is a
:class:`DataFormatError` naming the file, the line and the field. Items are yielded as
their lines are read, so ``--limit 2`` reads two lines of a file of a million.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..domains import BenchmarkLoader
from ..errors import DataFormatError
from ..inputs import iter_jsonl
from ..records import BenchmarkItem
from .evidence import as_text


def jsonl_benchmark(
    name: str,
    *,
    question: str,
    answer: str,
    choices: str | None = None,
    program: str | None = None,
    meta: Sequence[str] = (),
) -> BenchmarkLoader:
    """A loader of JSONL whose lines hold the question text in field ``question``, the
    answer (text or a number) in ``answer``, optionally a list of options in ``choices``
    (a line without the field has none) and a program that computes the answer in
    ``program`` (a seed shown in the Attacker's own form,
    :func:`nanoflux.engine.seeds.seed_block`; a line without one has none); fields named
    in ``meta`` are kept in the item's ``meta``. Item ids are ``NAME-FILESTEM-LINE``,
    LINE being the line of the file that holds the item."""
    fields = ", ".join(f for f in (question, answer, choices, program, *meta) if f)
    expected = f"JSONL with fields {fields}"

    def load(path: Path) -> Iterator[BenchmarkItem]:
        for where, record in iter_jsonl(path):
            line = where.rsplit(":", 1)[1]
            yield BenchmarkItem(
                id=f"{name}-{path.stem}-{line}",
                question=_text(record, question, where, expected),
                answer=_answer(record, answer, where, expected),
                choices=_choices(record, choices, where, expected) if choices else None,
                program=_program(record, program, where, expected) if program else None,
                meta={key: record[key] for key in meta if key in record},
            )

    load.__doc__ = f"{name}: {expected}."
    return load


def _missing(record: dict[str, Any], key: str, where: str, expected: str) -> DataFormatError:
    got = "missing" if key not in record else f"a {type(record[key]).__name__}"
    return DataFormatError(f"{where}: field {key!r} is {got}", hint=f"expected {expected}")


def _text(record: dict[str, Any], key: str, where: str, expected: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _missing(record, key, where, expected)
    return value.strip()


def _answer(record: dict[str, Any], key: str, where: str, expected: str) -> str:
    value = record.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return as_text(value)
    return _text(record, key, where, expected)


def _program(record: dict[str, Any], key: str, where: str, expected: str) -> str | None:
    if key not in record:
        return None
    _text(record, key, where, expected)
    return record[key]  # as written: its lines' indentation is the program


def _choices(record: dict[str, Any], key: str, where: str, expected: str) -> list[str] | None:
    if key not in record:
        return None  # a line without options is not multiple choice
    value = record[key]
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise DataFormatError(
            f"{where}: field {key!r} is not a list of option texts", hint=f"expected {expected}"
        )
    return value
