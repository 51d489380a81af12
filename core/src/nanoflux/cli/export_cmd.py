"""`nanoflux export`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("export", "issue 4 (engine)")]
