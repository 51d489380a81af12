"""``nanoflux bench NAME``: performance measurements that print JSON.

Each plugin registers the part it measures under a benchmark name; this command runs
every part registered under NAME and merges their JSON objects into one.
"""

from __future__ import annotations

import json

import click

from ..errors import PluginError, UsageError, clip


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
        try:
            part = entry.item(options)
        except (ValueError, TypeError) as exc:
            if not options:
                raise  # no option of the user's to blame: a bug, shown as one
            raise bad_options(name, entry.plugin, options, exc) from exc
        clash = set(part) & set(merged) - {"benchmark"}
        if clash:
            raise PluginError(f"benchmark {name}: {entry.plugin} repeats keys {sorted(clash)}")
        merged.update(part)
    return merged


def bad_options(name: str, plugin: str, options: dict[str, str], exc: Exception) -> UsageError:
    """The benchmark could not use the ``--option`` values given: one line naming the
    option (the one whose value the error quotes, else all of them) and the plugin."""
    detail = " ".join(str(exc).split())
    named = {k: v for k, v in options.items() if v and repr(v) in detail} or options
    shown = " ".join(f"-o {k}={clip(v, 40)}" for k, v in named.items())
    them = "it" if len(named) == 1 else "them"
    return UsageError(
        f"bench {name}: {shown}: {plugin} cannot use {them}: {type(exc).__name__}: {clip(detail)}",
        hint="check the value's type; `nanoflux bench` lists benchmarks and their plugins",
    )


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
