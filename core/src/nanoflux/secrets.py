"""Keeping secrets out of everything a run writes."""

from __future__ import annotations

import re
from typing import Any

# Option names that hold a secret value. Names of *variables* that hold one
# (api_key_env) are fine to record.
_SECRET_KEY = re.compile(r"(api[_-]?key|secret|token|password|authorization)$", re.I)


def scrub(value: Any) -> Any:
    """A copy with the values of secret-looking keys replaced by ``"***"``."""
    if isinstance(value, dict):
        return {
            k: "***" if isinstance(k, str) and _SECRET_KEY.search(k) and v else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value
