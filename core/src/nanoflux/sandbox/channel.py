"""Reading what the program sent back: untrusted bytes, parsed defensively.

The runner's report is the last line on the result descriptor, but the program shares
that descriptor and may write anything there first, or instead. The host therefore
bounds the line's size (the supervisor stops reading past the output limit), catches
the parser's RecursionError, refuses values nested deeper than the runner ever nests
them, and replaces lone surrogates (which JSON's ``\\udXXX`` escapes can carry) so every
string is valid UTF-8 before it enters a record.
"""

from __future__ import annotations

import json
from typing import Any

# The runner cuts values at depth 20 (runner.MAX_DEPTH); the report wraps them in two more.
MAX_DEPTH = 24


class BadReport(ValueError):
    """The result line is not a report the runner could have written."""


def read_report(data: bytes) -> dict[str, Any] | None:
    """The report on the last non-empty line; None when the program wrote none at all.

    Raises :class:`BadReport` naming what is wrong with a line that is there.
    """
    lines = data.split(b"\n")
    line = next((each for each in reversed(lines) if each.strip()), None)
    if line is None:
        return None
    try:
        value = json.loads(line.decode("utf-8", "replace"))
    except RecursionError:
        raise BadReport(f"the result line is nested too deeply ({len(line)} bytes)") from None
    except ValueError as exc:
        raise BadReport(f"the result line is not JSON: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise BadReport(f"the result line is a JSON {type(value).__name__}, not an object")
    if _depth(value) > MAX_DEPTH:
        raise BadReport(f"the result is nested deeper than {MAX_DEPTH} levels")
    return valid_text(value)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value``, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack += [(x, depth + 1) for x in item]
    return deepest


def valid_text(value: Any) -> Any:
    """``value`` with every string (keys included) valid UTF-8: lone surrogates become U+FFFD.

    Called only on values no deeper than MAX_DEPTH, so the recursion is bounded.
    """
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return [valid_text(x) for x in value]
    if isinstance(value, dict):
        return {_text(k): valid_text(x) for k, x in value.items()}
    return value


def _text(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # surrogatepass keeps pairs together; errors="replace" then marks the lone ones
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
