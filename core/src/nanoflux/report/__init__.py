"""``nanoflux report DIR``: one HTML page with the plots of a run, its training and its evaluation.

The page is written to ``DIR/report.html`` with its PNGs in ``DIR/report/``; images
are referenced relatively and nothing is loaded from the network, so the folder can
be zipped and opened anywhere. Sections whose data the folder lacks say so.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..storage import write_atomic
from . import html
from .data import REPORT_FOLDER, collect
from .sections import (
    ablation_section,
    compute_section,
    contents,
    evaluation_section,
    results_section,
    run_section,
    training_section,
)

__all__ = ["build_report", "collect"]


def build_report(folder: Path, out: Path | None = None) -> Path:
    """Write the report for ``folder`` and return the path of the HTML file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"report: {folder} is not a directory")
    data = collect(folder)
    if not (data.run or data.trainings or data.evals or data.ablations):
        raise ConfigError(
            f"report: {folder} holds no run, training, evaluation or ablation",
            hint="name a run directory, a pipeline directory or an eval --out folder",
        )
    out = Path(out) if out else folder / "report.html"
    images = out.parent / REPORT_FOLDER

    def img(path: Path | None, alt: str, missing: str) -> str:
        if path is None:
            return html.note(missing)
        return html.image(path.relative_to(out.parent).as_posix(), alt)

    sections = [("Contents", [contents(data)])]
    sections.append(("Generation run", run_section(data.run, images, img)))
    if data.pipeline and data.pipeline.get("models"):
        sections.append(("Results", results_section(data.pipeline, images, img)))
    sections.append(("Training", training_section(data, images, img)))
    sections.append(("Evaluation", evaluation_section(data, images, img)))
    sections.append(("Compute", compute_section(data)))
    if data.ablations:
        sections.append(("Ablations", ablation_section(data, images, img)))
    title = f"NanoFlux report: {folder.resolve().name}"
    write_atomic(out, html.page(title, sections))
    return out
