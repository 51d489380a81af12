"""`nanoflux data`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("data", "issue 6 (domain packs)")]
