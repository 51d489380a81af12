"""`nanoflux run`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("run", "issue 4 (engine)")]
