"""``nanoflux export``: a run's dataset in the formats trainers read."""

from __future__ import annotations

from pathlib import Path

import click

from ..engine.export import FORMATS


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="messages", show_default=True
)
@click.option(
    "--to",
    "destination",
    type=click.Path(path_type=Path),
    help="Output file (folder for hf). Default: RUN_DIR/export/<format>.jsonl",
)
def export(run_dir: Path, fmt: str, destination: Path | None) -> None:
    """Export RUN_DIR's dataset.jsonl as messages, alpaca, sharegpt, dpo or hf."""
    from ..engine.export import export_dataset

    path, count = export_dataset(run_dir, fmt, destination)
    click.echo(f"exported {count} examples as {fmt} to {path}")


COMMANDS = [export]
