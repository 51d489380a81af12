"""``nanoflux doctor [--json]``: every installed part, really run, each in a child process."""

from __future__ import annotations

import json

import click

from ..errors import NanofluxError, UsageError

MARKS = {"ok": ("ok", "green"), "skipped": ("skipped", "yellow"), "failed": ("FAILED", "red")}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="CHECK",
    help="Run only this check ('backend llamacpp', 'sandbox', ...); repeatable.",
)
def doctor(as_json: bool, only: tuple[str, ...]) -> None:
    """Check that models, embedders, stores and the sandbox work on this machine.

    Each check runs in a child process, so a native crash is reported, not suffered.
    Exits non-zero when a check fails.
    """
    from .. import doctor as diagnosis
    from . import current_host

    host = current_host()
    checks = diagnosis.plan(host)
    broken = [] if only else diagnosis.load_errors(host)
    if only:
        known = {check.label for check in checks}
        unknown = [name for name in only if name not in known]
        if unknown:
            raise UsageError(
                f"no check named {', '.join(map(repr, unknown))}",
                hint=f"checks: {', '.join(sorted(known))}",
            )
        checks = [check for check in checks if check.label in only]

    def show(result) -> None:
        if as_json:
            return
        word, colour = MARKS[result.status]
        click.secho(f"{word:<8}", fg=colour, nl=False)
        click.echo(f"{result.check:<22} {result.detail} [{result.seconds:.1f} s]")

    for result in broken:
        show(result)
    results = broken + diagnosis.run_checks(checks, on_result=show)
    failed = [result for result in results if result.status == "failed"]
    if as_json:
        payload = {"ok": not failed, "checks": [result.model_dump() for result in results]}
        click.echo(json.dumps(payload, indent=2, default=str))
    if failed:
        raise NanofluxError(
            f"{len(failed)} of {len(results)} checks failed: "
            + ", ".join(result.check for result in failed)
        )


COMMANDS = [doctor]
