"""`nanoflux pipeline`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("pipeline", "issue 7 (pipeline)")]
