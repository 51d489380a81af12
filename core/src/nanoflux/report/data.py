"""Finding what a folder holds: a run, trainings, evaluations, comparisons, ablations.

The report accepts any folder NanoFlux wrote (a run directory, a pipeline directory,
an ``nanoflux eval --out`` folder, an ablation folder) and looks for the files each
stage leaves, a few levels deep; whatever is missing is simply absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.ledger import RunState
from ..engine.run_store import STATS, RunStore, read_objects
from ..errors import DataFormatError
from ..inputs import load_json
from ..records import Candidate, Example

MAX_DEPTH = 3
REPORT_FOLDER = "report"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a log NanoFlux appends to (a training's), bar a last line cut short
    by a kill; any other damage is one error naming file and line."""
    return [row for _, row in read_objects(path)]


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file a stage wrote; None when absent, one error line when damaged."""
    if not path.exists():
        return None
    data = load_json(path)
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


@dataclass
class RunData:
    folder: Path
    stats: dict[str, Any] | None
    candidates: list[Candidate]
    dataset: list[Example]
    config: dict[str, Any]


@dataclass
class TrainingData:
    name: str
    folder: Path
    config: dict[str, Any]
    log: list[dict[str, Any]]
    result: dict[str, Any] | None


@dataclass
class EvalData:
    name: str
    folder: Path
    summary: dict[str, Any]


@dataclass
class ReportData:
    folder: Path
    run: RunData | None = None
    trainings: list[TrainingData] = field(default_factory=list)
    evals: list[EvalData] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    ablations: list[dict[str, Any]] = field(default_factory=list)
    pipeline: dict[str, Any] | None = None


def _is_run(folder: Path) -> bool:
    store = RunStore(folder)
    return store.candidates_path.is_file() or (folder / STATS).is_file()


def _load_run(folder: Path) -> RunData:
    # A run being written may end in a torn line; the store skips it. Damage elsewhere
    # is an error naming file and line, never a plot of half the data.
    store = RunStore(folder)
    candidates = list(store.candidates())
    config = store.config() if store.is_run() else None
    recorded = store.stats()
    # The counts are the ledger's own (stats.json may lag it by a second); stats.json
    # adds what the ledger does not hold: the clock and why the run stopped.
    target = config.target if config is not None else recorded.get("target") or 0
    stats = RunState.replay(candidates, profile_size=0).counts(
        target, recorded.get("seconds") or 0.0
    )
    stats["stopped_because"] = recorded.get("stopped_because")
    return RunData(
        folder=folder,
        stats=stats if recorded or candidates else None,
        candidates=candidates,
        dataset=list(store.examples()),
        config=config.model_dump(mode="json") if config is not None else {},
    )


def _folders(root: Path) -> list[Path]:
    found = [root]
    frontier = [root]
    for _ in range(MAX_DEPTH):
        children = []
        for folder in frontier:
            children += sorted(
                p
                for p in folder.iterdir()
                if p.is_dir()
                and not p.name.startswith(".")
                and p.name != REPORT_FOLDER
                and p.name != "adapter"
                and p.name != "merged"
            )
        found += children
        frontier = children
    return found


def _name(root: Path, folder: Path) -> str:
    return "." if folder == root else folder.relative_to(root).as_posix()


def collect(root: Path) -> ReportData:
    root = Path(root)
    data = ReportData(folder=root)
    data.pipeline = read_json(root / "pipeline.json")
    for folder in _folders(root):
        if data.run is None and _is_run(folder):
            data.run = _load_run(folder)
        if (folder / "train_log.jsonl").is_file():
            data.trainings.append(
                TrainingData(
                    name=_name(root, folder),
                    folder=folder,
                    config=read_json(folder / "train_config.json") or {},
                    log=read_jsonl(folder / "train_log.jsonl"),
                    result=read_json(folder / "train_result.json"),
                )
            )
        summary = read_json(folder / "summary.json")
        if isinstance(summary, dict) and "accuracy" in summary and "ci95" in summary:
            data.evals.append(EvalData(_name(root, folder), folder, summary))
        comparison = read_json(folder / "eval.json")
        if isinstance(comparison, dict) and "p_value" in comparison:
            data.comparisons.append(comparison)
        ablation = read_json(folder / "ablation.json")
        if isinstance(ablation, dict) and "rows" in ablation:
            data.ablations.append({**ablation, "folder": folder})
    # An ablation's own table and plot stand for the many trainings inside it.
    inside = [Path(a["folder"]) for a in data.ablations]
    data.trainings = [t for t in data.trainings if not _within(t.folder, inside)]
    data.evals = [e for e in data.evals if not _within(e.folder, inside)]
    if data.pipeline:
        for comparison in data.pipeline.get("comparisons", []):
            if comparison not in data.comparisons:
                data.comparisons.append(comparison)
    return data


def _within(folder: Path, parents: list[Path]) -> bool:
    return any(folder != parent and folder.is_relative_to(parent) for parent in parents)
