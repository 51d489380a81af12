"""Where NanoFlux keeps state that outlives a run (novelty stores, caches)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$NANOFLUX_HOME``, else the user's data directory for nanoflux."""
    explicit = os.environ.get("NANOFLUX_HOME")
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("nanoflux", appauthor=False))
