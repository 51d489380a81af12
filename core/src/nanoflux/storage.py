"""Durable files: atomic replacement, appends a kill or a full disk may cut short, one
writer per folder, and never a write through a symbolic link.

The run store, the evaluation folder and export rely on these; nothing here knows what
the files hold. Every file NanoFlux writes in a run, eval, pipeline or export folder is
written through this module:

* :func:`append` (or :func:`open_append` + :func:`append_to` for a file kept open)
  for JSONL files and logs: all of the bytes or none of them;
* :func:`write_atomic` for whole files: a reader sees the old file or the new one;
* :func:`hold_exclusive` for lock files;
* :func:`ensure_real_dir` for a folder NanoFlux makes inside one of those folders;
* :func:`last_line` and :func:`truncate` to mend a line a kill cut short;
* :func:`load_record` to read back a JSON file as a record.

None of them follows a symbolic link at the name it writes: someone who can plant
``run.lock -> /etc/passwd`` in a folder must not get that file truncated. A link (or a
folder, pipe or device) where a file is written is refused with one line naming it; a
link where a file is atomically replaced is replaced, never written through. Every
failure (a full disk, a quota, a permission) is one line naming the file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from .errors import DataFormatError, NanofluxError, UsageError
from .inputs import load_json, located

R = TypeVar("R", bound=BaseModel)

#: flags every open here adds: never through a link at the name, never inherited by a
#: child, and never blocked by a pipe planted at the name (opened, then refused)
_SAFE = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class UnsafePathError(UsageError):
    """Where NanoFlux writes a file (or makes a folder) there is a link or something else
    that is not one; nothing was written through it."""


class WriteError(NanofluxError):
    """A file could not be written: a full disk or quota, permissions, an I/O error."""


def write_error(path: Path | str, exc: OSError) -> NanofluxError:
    """The one-line error for ``exc`` raised while writing ``path``."""
    if exc.errno == errno.ELOOP:
        return UnsafePathError(
            f"{path} is a symbolic link; NanoFlux does not write through links",
            hint="remove the link (it may point at a file outside the folder)",
        )
    if exc.errno == errno.EISDIR:
        return UnsafePathError(f"{path} is a folder where a file is written")
    if exc.errno == errno.ENXIO:  # a pipe without a reader, opened O_NONBLOCK
        return UnsafePathError(f"{path} is not a regular file")
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _FULL:
        return WriteError(
            f"cannot write {path}: {reason}",
            hint="free some space, then run the same command again, or nanoflux run "
            "--resume DIR for a run; what was written before is kept",
        )
    return WriteError(f"cannot write {path}: {reason}")


def _link_refused(path: Path | str) -> NanofluxError:
    return write_error(path, OSError(errno.ELOOP, os.strerror(errno.ELOOP)))


def _open(
    path: Path | str, flags: int, *, dir_fd: int | None = None, shown: Path | None = None
) -> int:
    """os.open of a regular file without following a link at the name; OSError as is."""
    fd = os.open(path, flags | _SAFE, 0o644, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePathError(f"{shown or path} is not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(
    path: Path | str, flags: int, *, dir_fd: int | None = None, shown: Path | None = None
) -> int:
    """A descriptor on the regular file ``path`` opened with ``flags`` (``O_CREAT`` makes
    it), never through a link there; anything else is one error naming ``shown or path``."""
    try:
        return _open(path, flags, dir_fd=dir_fd, shown=shown)
    except OSError as exc:
        raise write_error(shown or path, exc) from None


def _write_all(fd: int, data: bytes) -> None:
    """Every byte of ``data``: os.write may write less than asked (a disk filling up)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


# -- appends ---------------------------------------------------------------------------


def open_append(path: Path | str) -> int:
    """A descriptor appending to ``path`` (made if missing) for :func:`append_to`."""
    return open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def append_to(fd: int, data: bytes, path: Path | str, *, durable: bool = False) -> None:
    """Append all of ``data`` to ``fd`` (from :func:`open_append`), or none of it.

    A failed write (a full disk) is cut back off the file, so the next append does not
    continue a broken line; only a kill between two writes can leave part of it, which
    readers recognise as a line cut short. ``durable`` fsyncs (power loss)."""
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        _write_all(fd, data)
        if durable:
            os.fsync(fd)
    except OSError as exc:
        try:
            os.ftruncate(fd, start)  # shrinking a file needs no space
        except OSError:
            pass  # the part stays: resume drops a line cut short
        raise write_error(path, exc) from None


def append(path: Path | str, data: bytes, *, durable: bool = False) -> None:
    """Append ``data`` to ``path`` (made if missing): all of it or none, one error line
    naming the file when it cannot be, never through a link."""
    fd = open_append(path)
    try:
        append_to(fd, data, path, durable=durable)
    finally:
        os.close(fd)


class LogFile(logging.Handler):
    """A logging handler appending each record as a line to ``path`` (see :func:`append_to`).

    logging.FileHandler follows a link at the name and prints a failed write to stderr
    and forgets it; this one refuses the link and raises the failure's one-line error."""

    def __init__(self, path: Path | str):
        super().__init__()
        self.path = path
        self.fd: int | None = open_append(path)

    def emit(self, record: logging.LogRecord) -> None:
        if self.fd is not None:
            line = self.format(record) + "\n"
            append_to(self.fd, line.encode("utf-8", "backslashreplace"), self.path)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        super().close()


# -- whole files -------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    """Where :func:`write_atomic` writes ``path`` before the rename (``unique=False``)."""
    return path.with_name(f".{path.name}.tmp")


def write_atomic(
    path: Path | str, data: str | bytes | Iterable[bytes], *, unique: bool = False
) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new file, never half.

    The new file is written under a temporary name (:func:`temporary_path`, one left by a
    kill or planted there is removed first; ``unique`` picks a fresh name instead, for
    writers no lock keeps apart) created exclusively, then renamed over ``path``. A link
    at ``path`` is replaced by the file, never written through; a folder there is
    refused. ``data`` may be chunks: an error while producing them leaves nothing."""
    path = Path(path)
    chunks = [data.encode("utf-8")] if isinstance(data, str) else data
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise write_error(path.parent, exc) from None
    try:
        _replace_in(folder, path, [chunks] if isinstance(chunks, bytes) else chunks, unique)
        os.fsync(folder)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        os.close(folder)


def _replace_in(folder: int, path: Path, chunks: Iterable[bytes], unique: bool) -> None:
    tmp = f".{path.name}.{secrets.token_hex(4)}.tmp" if unique else temporary_path(path).name
    shown = path.parent / tmp
    if not unique:
        try:
            os.unlink(tmp, dir_fd=folder)
        except FileNotFoundError:
            pass
        except OSError as exc:  # a folder there
            raise write_error(shown, exc) from None
    fd = open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, dir_fd=folder, shown=shown)
    try:
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException as exc:
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise write_error(path, exc) from None
        raise


def ensure_real_dir(path: Path | str) -> Path:
    """``path`` as a folder (made, with its parents, if missing); a link or a file there is
    refused with one line, so nothing is written into a folder elsewhere."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        try:
            path.mkdir(parents=True, exist_ok=True)
            info = os.lstat(path)
        except OSError as exc:
            raise write_error(path, exc) from None
    except OSError as exc:
        raise write_error(path, exc) from None
    if stat.S_ISLNK(info.st_mode):
        raise _link_refused(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafePathError(f"{path} is not a folder")
    return path


def refuse_links(folder: Path, names: Iterable[str]) -> None:
    """Refuse, in one line, a link at any of ``names`` in ``folder``: a folder whose own
    files point elsewhere is neither read nor written."""
    for name in names:
        if os.path.islink(folder / name):
            raise _link_refused(folder / name)


# -- mending and reading back ----------------------------------------------------------


def last_line(path: Path | str) -> tuple[int, bytes]:
    """(offset, bytes) of what follows the last newline of ``path``: ``b""`` when it ends
    in one, is empty or is missing. Read from the end, never through a link."""
    try:
        fd = _open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0, b""
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        position, tail = os.fstat(fd).st_size, []
        while position > 0:
            step = min(1 << 16, position)
            position -= step
            chunk = os.pread(fd, step, position)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                tail.insert(0, chunk[cut + 1 :])
                return position + cut + 1, b"".join(tail)
            tail.insert(0, chunk)
        return 0, b"".join(tail)
    finally:
        os.close(fd)


def truncate(path: Path | str, size: int) -> None:
    """Cut ``path`` back to ``size`` bytes (a line cut short), fsynced; never through a link."""
    fd = open_regular(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        os.close(fd)


def load_record(path: Path | str, model: type[R]) -> R:
    """The JSON file ``path`` as a ``model`` record. Damage (a folder, binary, not JSON,
    not the record) is one line naming the file and the field, never the file's content."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a JSON object, found {type(data).__name__}")
    with located(str(path)):
        return model.model_validate(data)


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
    """Lock ``path`` (created if missing, never through a link) for this process and
    write our pid into it.

    Returns the descriptor; closing it releases the lock. ``what`` names the thing the lock
    guards in the one-line error another process gets ("run directory runs/x")."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{what} cannot be used: {exc.strerror or exc}") from None
    try:
        fd = _open(path, os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        refusal = write_error(path, exc)
        if isinstance(refusal, UnsafePathError):
            raise refusal from None
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
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the pid only names the holder to others; a full disk must not stop the lock
    return fd
