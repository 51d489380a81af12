"""NanoFlux: small, verified fine-tuning datasets from adversarial model rounds.

The public API is what this module exports; plugins import only from here and from
the modules it names (``nanoflux.hookspecs``, ``nanoflux.backends``, ``nanoflux.novelty``,
``nanoflux.tools``, ``nanoflux.domains``, ``nanoflux.training``, ``nanoflux.records``,
``nanoflux.errors``, ``nanoflux.testing``).
"""

from __future__ import annotations

from importlib import metadata

from .hookspecs import hookimpl

try:
    __version__ = metadata.version("nanoflux")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__", "hookimpl", "run"]


def __getattr__(name: str):
    # The engine imports more than the CLI needs at start-up; load it on first use.
    if name == "run":
        from .engine import run

        return run
    raise AttributeError(name)
