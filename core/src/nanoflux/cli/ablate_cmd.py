"""`nanoflux ablate`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("ablate", "issue 7 (ablations)")]
