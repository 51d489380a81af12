"""NanoFlux math pack: the ``math`` domain and the ``math.*`` judge tools."""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl

from .domain import MathDomain
from .tools import TOOLS


@hookimpl
def register_domains(register):
    register(MathDomain())


@hookimpl
def register_benchmarks(register):
    from .bench import measure

    register("tools", measure, "math.python sandbox latency and math.equivalent throughput")


@hookimpl
def register_judge_tools(register):
    for tool in TOOLS:
        register(tool)


__all__ = ["MathDomain"]
