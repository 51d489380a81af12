"""``nanoflux tools``: list the judge tools, and call one with JSON arguments."""

from __future__ import annotations

import json

import click

from ..errors import UsageError
from ..inputs import parse_json


def _tool(host, tool_id: str):
    if tool_id not in host.tools:
        known = ", ".join(host.tools.ids()) or "none installed"
        raise UsageError(
            f"unknown judge tool {tool_id!r}",
            hint=f"installed: {known}; install a domain pack, e.g. `nanoflux install math`",
        )
    return host.tools.get(tool_id)


@click.group()
def tools() -> None:
    """Judge tools: small computations the Judge trusts over a model's opinion."""


@tools.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, with argument schemas.")
@click.option("--domain", default=None, help="Only the tools of this domain.")
def list_tools(as_json: bool, domain: str | None) -> None:
    """List tool ids, domains, descriptions and argument schemas."""
    from . import current_host

    host = current_host()
    rows = [
        {
            "id": entry.id,
            "domain": entry.item.domain,
            "description": entry.item.description,
            "plugin": entry.plugin,
            "schema": entry.item.schema(),
        }
        for entry in sorted(host.tools, key=lambda e: e.id)
        if domain is None or entry.item.domain == domain
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No judge tools installed (install a domain pack: `nanoflux install math`).")
    for row in rows:
        properties = row["schema"].get("properties", {})
        required = set(row["schema"].get("required", []))
        args = ", ".join(name if name in required else f"{name}?" for name in properties)
        click.echo(f"{row['id']} {{{args}}}")
        click.echo(f"    {row['description']}")


@tools.command("call")
@click.argument("tool_id")
@click.option("--args", "raw_args", default="{}", show_default=True, help="A JSON object.")
def call_tool(tool_id: str, raw_args: str) -> None:
    """Run TOOL_ID and print {"ok", "value", "error", "seconds"} as one JSON object.

    Exits 0 whenever the tool ran (ok true or false); 2 for an unknown tool or
    arguments that fail its schema.
    """
    from . import current_host

    tool = _tool(current_host(), tool_id)
    args = parse_json(raw_args, "--args", UsageError)
    if not isinstance(args, dict):
        raise UsageError('--args must be a JSON object, e.g. \'{"seq": "ATG"}\'')
    result = tool.call(args)
    click.echo(json.dumps(result.model_dump(mode="json")))


COMMANDS = [tools]
