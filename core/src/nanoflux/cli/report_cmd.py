"""`nanoflux report`."""

from __future__ import annotations

from . import not_yet

COMMANDS = [not_yet("report", "issue 7 (report)")]
