"""``nanoflux report DIR``: an HTML page with plots of a run, its training and its evaluation."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import NotAvailableError


def require_extra(command: str, module: str, extra: str) -> None:
    """One line naming the extra to install when ``module``, which only that extra of
    nanoflux installs, cannot be imported."""
    try:
        __import__(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != module:
            raise  # the library is there but broken: not a missing extra
        raise NotAvailableError(
            f"{command} needs {module}, which is not installed",
            hint=f"pip install 'nanoflux[{extra}]'",
        ) from None


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--out", "-o", type=click.Path(path_type=Path), help="HTML file (default DIR/report.html)."
)
def report(folder: Path, out: Path | None) -> None:
    """Write DIR/report.html (PNG plots in DIR/report/) for a run or pipeline directory;
    for a pipeline, print its results tables too (accuracy with intervals and validity,
    paired comparisons, training compute: the results.md of the pipeline)."""
    require_extra("nanoflux report", "matplotlib", "report")
    from ..report import build_report
    from ..report.data import read_json
    from ..report.results import results_markdown

    path = build_report(folder, out)
    summary = read_json(folder / "pipeline.json")
    if summary and summary.get("models"):
        click.echo(results_markdown(summary))
    click.echo(f"report: {path}")


COMMANDS = [report]
