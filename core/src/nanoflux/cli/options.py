"""Option parsing that several commands share."""

from __future__ import annotations

import json

from ..errors import UsageError


def parse_pairs(pairs: tuple[str, ...], flag: str) -> dict[str, object]:
    """KEY=VALUE pairs; values are read as JSON when they parse (numbers, booleans)."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {pair!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options
