"""The Genome-Bench loader.

Genome-Bench (Yin et al. 2025, arXiv:2505.19501) ships records ``{"question", "answer"}``:
the question text ends with lettered options ``a.`` to ``e.``, and the answer is
``<explanation>...</explanation> <answer>b</answer>``. It comes as JSON/JSONL or as a
Hugging Face ``datasets`` folder written by ``save_to_disk``. Items are yielded as they
are read, and each record is read in time linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nanoflux.errors import DataFormatError, NotAvailableError
from nanoflux.inputs import iter_jsonl, load_json
from nanoflux.records import BenchmarkItem

EXPECTED = "records with 'question' (options a. to e.) and 'answer' (<answer>letter</answer>)"
_ANSWER = re.compile(r"<answer>\s*\(?([A-Ea-e])\)?[.)]?\s*</answer>", re.S)
_MARKER = re.compile(r"(?:^|(?<=\s))\(?([A-Ea-e])[.)]\s+")
_VISIBLE = re.compile(r"\S")


def split_options(text: str) -> tuple[str, list[str] | None]:
    """The stem and the options of a question whose last part lists ``a.`` ... ``e.``.

    The options are the last run of markers a, b, c, ... in order, so a stray "a." in the
    context before them does not split the question.
    """
    markers = [(m.group(1).lower(), m.start(), m.end()) for m in _MARKER.finditer(text)]
    # following[i][letter]: the first marker after marker i with that letter, so that
    # building each run is a few steps, not a scan (a line of "a. b. a. b. ..." was
    # quadratic: 9 s for 130 kB)
    following: list[dict[str, int]] = [{} for _ in markers]
    ahead: dict[str, int] = {}
    for index in range(len(markers) - 1, -1, -1):
        following[index] = dict(ahead)
        ahead[markers[index][0]] = index
    for index in range(len(markers) - 1, -1, -1):
        if markers[index][0] != "a":
            continue
        chain = [index]
        while (after := following[chain[-1]].get(chr(ord(markers[chain[-1]][0]) + 1))) is not None:
            chain.append(after)
        spans = [
            (markers[i][2], markers[chain[n + 1]][1] if n + 1 < len(chain) else len(text))
            for n, i in enumerate(chain)
        ]
        if len(chain) >= 2 and all(_VISIBLE.search(text, *span) for span in spans):
            return text[: markers[index][1]].strip(), [text[a:b].strip() for a, b in spans]
    return text.strip(), None


def _explanation(answer: str) -> str | None:
    """The text inside ``<explanation>...</explanation>`` (a scan, not a lazy regex: that
    one retried from every opening tag of an unclosed record)."""
    start = answer.find("<explanation>")
    end = answer.find("</explanation>", start + len("<explanation>")) if start >= 0 else -1
    return answer[start + len("<explanation>") : end].strip() if end >= 0 else None


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    if path.is_dir():
        yield from _dataset_records(path)
        return
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file or folder")
    if path.suffix == ".json":
        data = load_json(path)
        if not isinstance(data, list):
            raise DataFormatError(f"{path}: expected a JSON list of {EXPECTED}")
        for i, record in enumerate(data):
            yield f"{path}[{i}]", record
        return
    yield from iter_jsonl(path, objects=False)


def _dataset_records(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise NotAvailableError(
            f"{path} is a folder: reading a `datasets` save_to_disk folder needs the "
            "`datasets` package",
            hint="pip install 'nanoflux-genomics[hf]', or convert it to JSONL",
        ) from None
    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise DataFormatError(f"{path}: not a `datasets` save_to_disk folder ({exc})") from None
    split = ""
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        split = "test" if "test" in loaded else names[0] if len(names) == 1 else ""
        if not split:
            raise DataFormatError(
                f"{path}: splits {names} and none is 'test'",
                hint=f"point PATH at one split's folder, e.g. {path / names[0]}",
            )
        loaded = loaded[split]
    for i, record in enumerate(loaded):
        yield f"{path}{f'[{split}]' if split else ''}[row {i}]", record


def load_genome_bench(path: Path) -> Iterator[BenchmarkItem]:
    """Genome-Bench: records with 'question' (options a. to e.) and 'answer'
    (<answer>letter</answer>), as JSONL, a JSON list or a save_to_disk folder; the item's
    solution is the answer's <explanation>."""
    for n, (where, record) in enumerate(_records(path), 1):
        if not isinstance(record, dict):
            raise DataFormatError(f"{where}: expected an object", hint=f"expected {EXPECTED}")
        question, answer = record.get("question"), record.get("answer")
        for key, value in (("question", question), ("answer", answer)):
            if not isinstance(value, str) or not value.strip():
                raise DataFormatError(
                    f"{where}: field {key!r} is {'missing' if value is None else 'empty'}",
                    hint=f"expected {EXPECTED}",
                )
        match = _ANSWER.search(answer)
        if not match:
            raise DataFormatError(
                f"{where}: field 'answer' has no <answer>a-e</answer>", hint=f"expected {EXPECTED}"
            )
        stem, options = split_options(question)
        letter = match.group(1).lower()
        if options is not None and ord(letter) - ord("a") >= len(options):
            raise DataFormatError(f"{where}: answer {letter!r} but only {len(options)} options")
        yield BenchmarkItem(
            id=f"genome-bench-{path.stem}-{n}",
            question=stem if options else question,
            answer=letter,
            choices=options,
            solution=_explanation(answer) or None,
        )


LOADERS = {"genome-bench": load_genome_bench}
