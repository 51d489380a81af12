"""The errors NanoFlux shows to people.

Every error carries a one-line message and, where we know one, a hint that says
what to do. The CLI prints ``message`` and ``hint`` on one line; ``--debug`` adds
the traceback. ``exit_code`` is 2 for usage and configuration problems, 1 for
failures while running.
"""

from __future__ import annotations

import re

#: a value quoted in a message is cut to about this many characters
CLIP = 80
#: a run of more characters than a clipped path (240) without a space is a value nobody
#: reads whole (a 10 MB config string, a 5,000-character path): one_line() clips it even
#: where it was quoted unclipped
_UNREADABLE = re.compile(r"[^\s:'\"]{260,}")  # quotes and colons stay, to read around it
#: and no line is longer than this, whatever it is made of
MAX_LINE = 2000


def clip(text: str, limit: int = CLIP) -> str:
    """``text`` as a message quotes it: whole when short, else its start and its length."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


def clip_path(path: object) -> str:
    """A path as a message shows it: whole, unless it is longer than real paths get."""
    return clip(str(path), 240)


def _readable(text: str, limit: int) -> str:
    # every line break str.splitlines knows (\r, \x85, \u2028, ...): a file's keys
    # and values end up in messages
    text = _UNREADABLE.sub(lambda m: clip(m.group(0)), " ".join(text.splitlines()))
    return clip(text, limit)


class NanofluxError(Exception):
    """Base class of every error NanoFlux raises on purpose."""

    exit_code = 1
    #: no later round can succeed either (a server that was never reachable): the engine
    #: stops the run with this error instead of counting a failed round
    stops_run = False

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        text = _readable(self.message, MAX_LINE)
        return f"{text} ({_readable(self.hint, MAX_LINE // 2)})" if self.hint else text


class ConfigError(NanofluxError):
    """A configuration file, option or spec is wrong; names the field and file."""

    exit_code = 2


class UsageError(NanofluxError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = 2


class PluginError(NanofluxError):
    """A plugin failed to load, or two plugins claim the same id."""

    exit_code = 2


class NotAvailableError(NanofluxError):
    """A command or component exists in name but is not installed or built yet."""

    exit_code = 2


class BackendError(NanofluxError):
    """A model call failed. ``cause`` is a short machine-readable reason."""

    cause = "backend_error"


class BackendTimeout(BackendError):
    cause = "timeout"


class BackendUnavailable(BackendError):
    cause = "unavailable"


class BackendUnreachable(BackendUnavailable):
    """The first call of a run could not connect at all (refused, no such host)."""

    cause = "unreachable"
    stops_run = True


class RateLimited(BackendError):
    cause = "rate_limited"


class MissingSecret(ConfigError):
    """An API key or token is needed; the message names the environment variable."""


class ModelOutputError(NanofluxError):
    """A model replied, but not with what the role needs (invalid JSON, missing fields, empty)."""

    cause = "malformed_output"


class ToolError(NanofluxError):
    """A judge tool ran and could not produce a value; becomes ``ok=false``."""


class SandboxUnavailable(ToolError):
    """The isolation a sandboxed tool needs is not available; nothing was run."""


class DataFormatError(ConfigError):
    """A file someone supplied cannot be read as what it should be (binary, not UTF-8,
    nested too deeply, the wrong format); names file, line or key."""


class StoreError(NanofluxError):
    """A novelty store refused an operation (dimension mismatch, unreachable server)."""

    exit_code = 2
