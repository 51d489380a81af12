"""The ``nanoflux`` command line. One module per command; this one wires them up."""

from __future__ import annotations

import json
import sys
import traceback

import click

from ..errors import NanofluxError, UsageError

# Core's command names are fixed; a plugin cannot replace them.
CORE_COMMANDS = (
    "plugins",
    "install",
    "run",
    "export",
    "train",
    "eval",
    "report",
    "bench",
    "tools",
    "novelty",
    "data",
    "pipeline",
    "ablate",
)


class NanofluxGroup(click.Group):
    """Turns NanofluxError into one line on stderr and the error's exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NanofluxError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.secho(f"Error: {exc.one_line()}", err=True, fg="red")
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name in self.commands and name in CORE_COMMANDS:
            raise NanofluxError(f"a plugin tried to replace the core command {name!r}")
        super().add_command(cmd, name)


@click.group(cls=NanofluxGroup)
@click.version_option(package_name="nanoflux")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """NanoFlux: small, verified fine-tuning datasets from adversarial model rounds."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def parse_pairs(pairs: tuple[str, ...], flag: str) -> dict[str, object]:
    """KEY=VALUE pairs; values are read as JSON when they parse (numbers, booleans)."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {pair!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def not_yet(name: str, issue: str) -> click.Command:
    """A placeholder for a command whose implementation has not landed."""

    @click.command(
        name=name,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        help=f"Not available yet ({issue}).",
    )
    def command() -> None:
        from ..errors import NotAvailableError

        raise NotAvailableError(f"`nanoflux {name}` is not available yet", hint=issue)

    return command


def _build() -> click.Group:
    from . import (
        ablate_cmd,
        bench_cmd,
        data_cmd,
        eval_cmd,
        export_cmd,
        install_cmd,
        novelty_cmd,
        pipeline_cmd,
        plugins_cmd,
        report_cmd,
        run_cmd,
        tools_cmd,
        train_cmd,
    )

    for module in (
        plugins_cmd,
        install_cmd,
        run_cmd,
        export_cmd,
        train_cmd,
        eval_cmd,
        report_cmd,
        bench_cmd,
        tools_cmd,
        novelty_cmd,
        data_cmd,
        pipeline_cmd,
        ablate_cmd,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)
    return cli


def main() -> None:
    _build()
    try:
        from ..plugins import default_host

        default_host().add_commands(cli)
    except NanofluxError as exc:
        click.secho(f"Warning: {exc.one_line()}", err=True, fg="yellow")
    cli(prog_name="nanoflux")
