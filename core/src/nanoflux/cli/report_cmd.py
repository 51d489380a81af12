"""``nanoflux report DIR``: an HTML page with plots of a run, its training and its evaluation."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--out", "-o", type=click.Path(path_type=Path), help="HTML file (default DIR/report.html)."
)
def report(folder: Path, out: Path | None) -> None:
    """Write DIR/report.html (PNG plots in DIR/report/) for a run or pipeline directory."""
    from ..report import build_report

    path = build_report(folder, out)
    click.echo(f"report: {path}")


COMMANDS = [report]
