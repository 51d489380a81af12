"""Looking for a planted credential's value wherever a plugin could have let it out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path


def assert_secret_absent(
    secret: str, texts: Mapping[str, str], folders: Iterable[Path] = ()
) -> None:
    """Fail, naming where, when ``secret`` is in any of ``texts`` (by what they are) or
    in the bytes of any file under ``folders``. The value itself is searched, not words
    like "api_key": a key shown under any name, in a URL or a log line, is found."""
    found = [name for name, text in texts.items() if secret in text]
    needle = secret.encode()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(str(path))
    assert not found, f"the planted credential shows in: {', '.join(found)}"
