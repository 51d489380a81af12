"""Keeping API keys out of messages, logs and manifests.

Servers echo keys back (OpenAI's 401 says ``Incorrect API key provided: sk-...``), so
any server text we repeat goes through :func:`redact` first.
"""

from __future__ import annotations

import re

_KEY_LIKE = re.compile(r"(sk|pk|rk|key)-[A-Za-z0-9_*.\-]{6,}", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)\S+", re.IGNORECASE)


def redact(text: str, secret: str | None, limit: int = 300) -> str:
    """One short line of ``text`` with the secret and anything key-shaped removed."""
    if secret:
        text = text.replace(secret, "[redacted]")
    text = _KEY_LIKE.sub("[redacted]", text)
    text = _BEARER.sub(r"\1[redacted]", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
