"""`nanoflux eval`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("eval", "issue 7 (evaluation)")]
