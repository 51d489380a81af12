"""``nanoflux plugins``: what is installed, what it provides, and what failed to load."""

from __future__ import annotations

import json

import click


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins, their hooks, and load errors."""
    if ctx.invoked_subcommand is not None:
        return
    from . import current_host

    rows = current_host().describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        tag = " (built-in)" if row["builtin"] else ""
        click.echo(f"{row['name']}{version}{tag}")
        for kind, ids in row["provides"].items():
            click.echo(f"  {kind}: {', '.join(ids)}")
        if row["error"]:
            click.secho(f"  error: {row['error']}", fg="red")


@plugins.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def available(as_json: bool) -> None:
    """First-party plugins from registry.toml, marked installed or not."""
    from ..registry import is_installed, load_registry

    entries, _ = load_registry()
    rows = [
        {**entry.model_dump(), "installed": is_installed(entry.distribution)} for entry in entries
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        mark = "installed" if row["installed"] else "not installed"
        click.echo(f"{row['name']:<12} {'/'.join(row['kind']):<22} {mark:<14} {row['description']}")


COMMANDS = [plugins]
