"""Durable files: atomic replacement, lines a kill may cut short, one writer per folder.

The run store and the evaluation folder both rely on these; nothing here knows what the
files hold.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
from pathlib import Path

from .errors import UsageError


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old or the new file, never half."""
    tmp = temporary_path(path)
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


# What may follow the last complete token of a line cut short: part of a number or of
# true/false/null.
_PARTIAL_TOKEN = re.compile(r"[-+.0-9eE]*|t(r(ue?)?)?|f(a(l(se?)?)?)?|n(u(ll?)?)?")


def cut_short(raw: bytes) -> bool:
    """Is ``raw``, a last line without its newline, a line a kill cut short?

    Every line a run writes is one JSON object, so a cut-short line is the beginning of
    one: valid UTF-8 up to the cut (which may fall inside a character) and JSON that
    runs out, not JSON that goes wrong. Binary data, text that is not JSON, or a whole
    object that only lacks its newline is not.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data" or exc.end != len(raw):
            return False
        text = raw[: exc.start].decode("utf-8")
    if "\x00" in text or not text.startswith("{"):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Unterminated string"):
            return True
        return bool(_PARTIAL_TOKEN.fullmatch(text[exc.pos :]))
    except (RecursionError, ValueError):
        return False
    return False  # a whole value: it lacks only its newline


def hold_exclusive(path: Path, what: str) -> int:
    """Lock ``path`` (created if missing) for this process and write our pid into it.

    Returns the descriptor; closing it releases the lock. ``what`` names the thing the lock
    guards in the one-line error another process gets ("run directory runs/x")."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise UsageError(f"{what} cannot be used: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise UsageError(f"cannot lock {path}: {exc.strerror}") from None
        raise UsageError(
            f"{what} is in use by process {holder}",
            hint="wait for it to finish or stop it; one process writes it at a time",
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
