"""The installed NanoFlux's version, for modules that record it (the run manifest)
without importing the package's public face."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("nanoflux")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"
