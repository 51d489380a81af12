"""``nanoflux run``: the adversarial loop that writes a run directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _progress_printer(mode: str):
    """A rich bar on a terminal, a plain line per accepted example otherwise, or nothing."""
    if mode == "quiet":
        return (lambda progress: None), None
    if mode == "bar":
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("[bold]accepted"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        task = bar.add_task("run", total=None, info="")

        def update(progress) -> None:
            bar.update(
                task,
                total=progress.target,
                completed=progress.accepted,
                info=f"attempts {progress.attempts} · rate {progress.acceptance_rate:.0%} "
                f"· {progress.tokens_per_second:.0f} tok/s",
            )

        return update, bar

    seen = {"accepted": 0}

    def plain(progress) -> None:
        if progress.accepted != seen["accepted"] or progress.attempts % 10 == 0:
            seen["accepted"] = progress.accepted
            click.echo(
                f"accepted {progress.accepted}/{progress.target} after {progress.attempts} "
                f"attempts ({progress.acceptance_rate:.0%}, "
                f"{progress.tokens_per_second:.0f} tok/s)",
                err=True,
            )

    return plain, None


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Run config TOML.")
@click.option("--domain", help="Domain pack to use (math, genomics, medicine, ...).")
@click.option("--attacker", help="Model A spec (attacks first), e.g. llamacpp:default.")
@click.option("--defender", help="Model B spec.")
@click.option("--judge", help="Judge model spec.")
@click.option("--target", type=int, help="Accepted examples to collect (default 200).")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Run directory (default runs/<time>-<domain>)."
)
@click.option(
    "--resume", type=click.Path(path_type=Path), help="Continue the run in this directory."
)
@click.option("--seed", type=int)
@click.option(
    "--seeds",
    help="Problems the Attacker builds harder variants of, DOMAIN:FORMAT:PATH "
    "(e.g. math:gsm8k:train.jsonl); never the benchmark you evaluate on.",
)
@click.option("--lanes", type=int, help="Rounds in flight at once.")
@click.option("--max-rounds", type=int, help="Stop after this many rounds.")
@click.option("--max-minutes", type=float, help="Stop after this many minutes.")
@click.option("--max-tokens", type=int, help="Stop after this many tokens (all roles).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def run(
    config_path,
    domain,
    attacker,
    defender,
    judge,
    target,
    out,
    resume,
    seed,
    seeds,
    lanes,
    max_rounds,
    max_minutes,
    max_tokens,
    quiet,
) -> None:
    """Generate a dataset: Attacker/Defender/Judge rounds until the target or a budget."""
    from ..engine import run as run_engine
    from . import current_host

    overrides = {
        "domain": domain,
        "attacker.spec": attacker,
        "defender.spec": defender,
        "judge.spec": judge,
        "target": target,
        "seed": seed,
        "rounds.seeds": seeds,
        "lanes": lanes,
        "budget.max_rounds": max_rounds,
        "budget.max_minutes": max_minutes,
        "budget.max_tokens": max_tokens,
    }
    config = _run_config(config_path, out, resume, overrides)
    mode = "quiet" if quiet else ("bar" if sys.stderr.isatty() else "plain")
    progress, bar = _progress_printer(mode)
    if bar is not None:
        bar.start()
    try:
        result = run_engine(config, current_host(), resume=resume is not None, progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    if not quiet:
        dataset = result.out_dir / "dataset.jsonl"
        where = f"; dataset: {dataset}" if result.accepted and dataset.is_file() else ""
        click.echo(
            f"{result.accepted} accepted of {result.attempts} attempts "
            f"(stopped: {result.stopped_because}){where}; run: {result.out_dir}"
        )


#: what a resumed run may change: how much more it makes, not how it makes it
_RESUMABLE = {"target", "budget.max_rounds", "budget.max_minutes", "budget.max_tokens"}


def _run_config(config_path, out, resume, overrides):
    """The run's configuration: from the file and flags, or on --resume from the run
    directory with only the target and budgets changed."""
    from ..config import load_config
    from ..engine.run_store import RunStore
    from ..errors import UsageError

    if resume is None:
        return load_config(config_path, {**overrides, "out": str(out) if out else None})
    if config_path is not None or out is not None:
        raise UsageError(
            "--resume takes its configuration from the run directory",
            hint="drop --config/--out",
        )
    RunStore(resume).require_run()
    changed = {k: v for k, v in overrides.items() if v is not None}
    if set(changed) - _RESUMABLE:
        raise UsageError("on --resume only --target and the budgets may change")
    return load_config(resume / "config.toml", {**changed, "out": str(resume)})


COMMANDS = [run]
