"""`nanoflux tools`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("tools", "issue 6 (domain packs)")]
