"""``nanoflux bench NAME``: performance measurements that print JSON.

Each plugin registers the part it measures under a benchmark name; this command runs
every part registered under NAME and merges their JSON objects into one.
"""

from __future__ import annotations

import json

import click

from ..errors import PluginError, UsageError


def _parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--option {pair!r} is not KEY=VALUE")
        options[key] = value
    return options


def run_benchmark(host, name: str, options: dict[str, str]) -> dict:
    entries = host.benchmarks.get(name)
    if not entries:
        known = ", ".join(sorted(host.benchmarks)) or "none"
        raise UsageError(f"no benchmark named {name!r}", hint=f"available: {known}")
    merged: dict = {"benchmark": name}
    for entry in entries:
        part = entry.item(options)
        clash = set(part) & set(merged) - {"benchmark"}
        if clash:
            raise PluginError(f"benchmark {name}: {entry.plugin} repeats keys {sorted(clash)}")
        merged.update(part)
    return merged


@click.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the default output).")
@click.option("--option", "-o", "options", multiple=True, help="KEY=VALUE passed to the benchmark.")
def bench(name: str | None, as_json: bool, options: tuple[str, ...]) -> None:
    """Run benchmark NAME and print its JSON; without NAME, list benchmarks."""
    from . import current_host

    host = current_host()
    if name is None:
        for bench_name, entries in sorted(host.benchmarks.items()):
            parts = ", ".join(f"{e.plugin}" for e in entries)
            click.echo(f"{bench_name}: {parts}")
        return
    result = run_benchmark(host, name, _parse_options(options))
    click.echo(json.dumps(result, indent=None if as_json else 2))


COMMANDS = [bench]
