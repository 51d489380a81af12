"""`nanoflux novelty`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("novelty", "issue 5 (novelty)")]
