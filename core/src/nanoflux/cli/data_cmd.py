"""``nanoflux data``: read benchmark files through the domain packs' loaders."""

from __future__ import annotations

import json

import click

from ..domains import BenchmarkSpec, load_benchmark
from ..errors import DataFormatError


@click.group()
def data() -> None:
    """Benchmark data: check that a file reads as its format."""


@data.command()
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect(spec: str, as_json: bool) -> None:
    """Read SPEC (DOMAIN:FORMAT:PATH, e.g. math:gsm8k:test.jsonl); print the number of
    items and the first one normalised."""
    from . import current_host

    parsed = BenchmarkSpec.parse(spec)
    items = load_benchmark(current_host(), parsed)
    if not items:
        raise DataFormatError(f"{parsed.path}: no items", hint=f"read as {parsed.format}")
    first = items[0]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "spec": str(parsed),
                    "count": len(items),
                    "first": first.model_dump(mode="json", exclude={"meta"}),
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"{parsed}: {len(items)} items")
    click.echo(f"first ({first.id}):")
    click.echo(f"  question: {first.question}")
    for letter, choice in zip("ABCDEFGHIJ", first.choices or [], strict=False):
        click.echo(f"  {letter}. {choice}")
    click.echo(f"  answer: {first.answer}")


COMMANDS = [data]
