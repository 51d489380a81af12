"""Keeping secrets out of everything a run writes."""

from __future__ import annotations

import re
from typing import Any

# Option names that hold a secret value. Names of *variables* that hold one
# (api_key_env) are fine to record.
_SECRET_KEY = re.compile(r"(api[_-]?key|secret|token|password|authorization)$", re.I)

MASK = "***"

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")
# userinfo: everything between :// and the first @ before the host's end
_USERINFO = re.compile(r"^([^:/]+://)([^/?#@]*)@")
# a query or matrix parameter whose name says it is a credential (?api_key=, &token=, &sig=)
_SECRET_PARAM = re.compile(
    r"([?&;](?:[^=&#;]*?)(?:key|token|secret|passw|pwd|sig|auth|credential|session)"
    r"[^=&#;]*=)([^&#;]*)",
    re.I,
)


def _mask_one(url: str) -> str:
    def userinfo(match: re.Match) -> str:
        user, sep, _ = match.group(2).partition(":")
        # user:password keeps the user; a lone user part is often a token itself
        return f"{match.group(1)}{user}:{MASK}@" if sep else f"{match.group(1)}{MASK}@"

    url = _USERINFO.sub(userinfo, url, count=1)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + (MASK if m.group(2) else ""), url)


def mask_urls(text: str) -> str:
    """``text`` with credentials in any URL masked: ``user:***@``, ``?api_key=***``."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: _mask_one(m.group(0)), text)


def scrub(value: Any) -> Any:
    """A copy with the values of secret-looking keys replaced by ``"***"`` and
    credentials in URLs (in any string, keys included) masked."""
    if isinstance(value, dict):
        return {
            scrub(k): MASK if isinstance(k, str) and _SECRET_KEY.search(k) and v else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return mask_urls(value)
    return value
