"""NanoFlux medicine pack: the ``medicine`` domain and the ``medicine.*`` judge tools."""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl

from .domain import MedicineDomain
from .tools import TOOLS


@hookimpl
def register_domains(register):
    register(MedicineDomain())


@hookimpl
def register_judge_tools(register):
    for tool in TOOLS:
        register(tool)


__all__ = ["MedicineDomain"]
