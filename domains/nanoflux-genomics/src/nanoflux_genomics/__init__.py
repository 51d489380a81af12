"""NanoFlux genomics pack: the ``genomics`` domain and the ``genomics.*`` judge tools."""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl

from .domain import GenomicsDomain
from .tools import TOOLS


@hookimpl
def register_domains(register):
    register(GenomicsDomain())


@hookimpl
def register_judge_tools(register):
    for tool in TOOLS:
        register(tool)


__all__ = ["GenomicsDomain"]
