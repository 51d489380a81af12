"""`nanoflux train`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("train", "issue 7 (training)")]
