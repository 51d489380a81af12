"""Where NanoFlux keeps state that outlives a run (novelty stores, caches, models)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError, clip_path
from .inputs import describe

VARIABLE = "NANOFLUX_HOME"


def home() -> Path:
    """``$NANOFLUX_HOME``, else the user's data directory for nanoflux."""
    explicit = os.environ.get(VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("nanoflux", appauthor=False))


def home_folder(*parts: str) -> Path:
    """``home() / parts``, made if missing. A home that cannot hold it (``/dev/null``, a
    file, a read-only place) is one line naming ``NANOFLUX_HOME`` and why."""
    folder = home().joinpath(*parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        explicit = os.environ.get(VARIABLE)
        where = f"{VARIABLE}={clip_path(explicit)}" if explicit else "the nanoflux data folder"
        raise ConfigError(
            f"{where}: cannot make {clip_path(folder)}: {describe(exc)}",
            hint=f"point {VARIABLE} at a folder this user can write",
        ) from None
    return folder
