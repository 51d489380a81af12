"""Reading what people hand to NanoFlux: files, and JSON on the command line.

Every way a supplied file or argument can be wrong ends here as one
:class:`NanofluxError` naming where (``file:line``, ``file[3]`` or the option): missing,
a folder or a pipe instead of a file, binary or not UTF-8, too large, nested deeper
than the parsers can recurse (they raise RecursionError), an integer longer than
Python converts (a ValueError since 3.11), or not the shape the reader expects.

Parsed strings are made writable: JSON's ``\\ud800`` escapes decode to lone
surrogates, which no UTF-8 file accepts, so they become U+FFFD here rather than a
crash when a record is written much later.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import DataFormatError, NanofluxError

#: whole-file reads (configs, JSON files); JSONL is streamed and has no total limit
MAX_FILE_BYTES = 1 << 30
#: one line of a JSONL file
MAX_LINE_BYTES = 64 << 20
#: nesting of a parsed value; real configs and records stay under ten
MAX_DEPTH = 100

_SURROGATE = re.compile("[\ud800-\udfff]")

ErrorClass = type[NanofluxError]


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it can be written as UTF-8."""
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def settle(value: Any, where: str, error: ErrorClass = DataFormatError) -> Any:
    """A parsed value with its strings (keys too) cleaned; deeper than MAX_DEPTH is an error."""

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, str):
            return clean_text(node)
        if depth >= MAX_DEPTH and isinstance(node, dict | list):
            raise error(f"{where}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            return {clean_text(str(k)): walk(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, depth + 1) for v in node]
        return node

    return walk(value, 0)


def describe(exc: BaseException) -> str:
    """A short phrase for why reading or validating failed (no traceback, one line)."""
    if isinstance(exc, json.JSONDecodeError):
        at = f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno} column {exc.colno}"
        return f"not valid JSON ({exc.msg}, {at})"
    if isinstance(exc, tomllib.TOMLDecodeError):
        return f"not valid TOML ({exc})"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(root)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{field}: {first['msg']}{more}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
    if isinstance(exc, UnicodeError):
        return "holds text that cannot be encoded as UTF-8"
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "holds an integer too long to read (over 4300 digits)"
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, NotADirectoryError):
        return "a part of the path is a file, not a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


#: what user data can raise while it is read, parsed or validated (OverflowError: a
#: number too large for a float, e.g. a 400-digit integer that a loader converts)
READ_ERRORS = (OSError, UnicodeError, RecursionError, ValueError, OverflowError)


@contextlib.contextmanager
def located(where: str, error: ErrorClass = DataFormatError) -> Iterator[None]:
    """Turn what reading user data can raise into ``error("WHERE: why")``.

    NanofluxErrors pass through: they already say where.
    """
    try:
        yield
    except NanofluxError:
        raise
    except READ_ERRORS as exc:
        raise error(f"{where}: {describe(exc)}") from None


def _open_regular(path: Path, error: ErrorClass):
    """An open binary handle on a regular file (a pipe or device would block or never end)."""
    where = str(path)
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise error(f"{where}: {describe(exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{where}: is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{where}: not a regular file")
    try:
        return open(path, "rb"), info.st_size  # the caller closes it
    except OSError as exc:
        raise error(f"{where}: {describe(exc)}") from None


def _decode(data: bytes, where: str, error: ErrorClass) -> str:
    if b"\x00" in data[:8192]:
        raise error(f"{where}: a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{where}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def read_text(
    path: Path | str, *, error: ErrorClass = DataFormatError, max_bytes: int = MAX_FILE_BYTES
) -> str:
    """The whole of a UTF-8 text file (a leading BOM dropped)."""
    path = Path(path)
    handle, size = _open_regular(path, error)
    with handle:
        if size > max_bytes:
            raise error(f"{path}: {size} bytes, more than the {max_bytes} this reads")
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{path}: {describe(exc)}") from None
    if len(data) > max_bytes:
        raise error(f"{path}: more than the {max_bytes} bytes this reads")
    return _decode(data, str(path), error)


def parse_json(text: str, where: str, error: ErrorClass = DataFormatError) -> Any:
    """JSON from a string (a file's text, a line, an option), settled (see :func:`settle`)."""
    with located(where, error):
        value = json.loads(text)
    return settle(value, where, error)


def parse_toml(text: str, where: str, error: ErrorClass = DataFormatError) -> dict[str, Any]:
    with located(where, error):
        value = tomllib.loads(text)
    return settle(value, where, error)


def load_json(path: Path | str, *, error: ErrorClass = DataFormatError) -> Any:
    return parse_json(read_text(path, error=error), str(path), error)


def load_toml(path: Path | str, *, error: ErrorClass = DataFormatError) -> dict[str, Any]:
    return parse_toml(read_text(path, error=error), str(path), error)


def iter_lines(
    path: Path | str, *, error: ErrorClass = DataFormatError
) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw line)`` of a regular file, each line at most MAX_LINE_BYTES.

    A line keeps its newline; only the last one can lack it.
    """
    path = Path(path)
    handle, _ = _open_regular(path, error)
    with handle:
        number = 0
        while True:
            number += 1
            try:
                raw = handle.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                raise error(f"{path}:{number}: {describe(exc)}") from None
            if not raw:
                return
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise error(f"{path}:{number}: a line longer than {MAX_LINE_BYTES} bytes")
            yield number, raw


def decode_line(
    raw: bytes, where: str, error: ErrorClass = DataFormatError, *, first: bool = False
) -> str:
    """One line of a text file as text (``first``: a leading BOM is dropped)."""
    if b"\x00" in raw:
        raise error(f"{where}: binary data, not text")
    try:
        return raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None


def iter_jsonl(
    path: Path | str, *, error: ErrorClass = DataFormatError, objects: bool = True
) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` per non-blank line, ``where`` being ``file:line``.

    With ``objects`` (the default) a line that is not a JSON object is an error.
    """
    for number, raw in iter_lines(path, error=error):
        where = f"{path}:{number}"
        line = decode_line(raw, where, error, first=number == 1)
        if not line.strip():
            continue
        value = parse_json(line, where, error)
        if objects and not isinstance(value, dict):
            kind = type(value).__name__
            raise error(f"{where}: expected a JSON object per line, not a {kind}")
        yield where, value
