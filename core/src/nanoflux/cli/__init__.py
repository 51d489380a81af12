"""The ``nanoflux`` command line. One module per command; this one wires them up.

``make_cli(host)`` builds the command group around a plugin host, or a function that
loads one: commands reach it through :func:`current_host`, and it is loaded only when
a command needs it, so ``nanoflux --version`` and ``--help`` load no plugin. Commands
that plugins add (``register_commands``) are kept by the host like any registration and
looked up there when a name is not core's.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ..errors import NanofluxError, UsageError

if TYPE_CHECKING:
    from ..plugins import PluginHost

# Core's commands, by module; their names are fixed and a plugin cannot replace them.
# A new command: a module with COMMANDS = [...], named here.
COMMAND_MODULES = (
    "plugins_cmd",
    "install_cmd",
    "run_cmd",
    "export_cmd",
    "train_cmd",
    "eval_cmd",
    "report_cmd",
    "bench_cmd",
    "tools_cmd",
    "novelty_cmd",
    "data_cmd",
    "pipeline_cmd",
    "ablate_cmd",
    "doctor_cmd",
)


class NanofluxGroup(click.Group):
    """Holds the plugin host, and turns NanofluxError into one line on stderr and the
    error's exit code. Commands that plugins add are looked up only when a name is not
    a core command."""

    def __init__(self, *args, host: PluginHost | Callable[..., PluginHost], **kwargs):
        super().__init__(*args, **kwargs)
        self._host_source = host
        self._host: PluginHost | None = None
        self._core_commands: set[str] = set()

    def host(self) -> PluginHost:
        """The host; one loaded here reserves core's command names, so a plugin that
        adds one of them fails to load and keeps nothing."""
        if self._host is None:
            source = self._host_source
            if callable(source):
                self._host = source(reserved_commands=frozenset(self._core_commands))
            else:
                self._host = source
        return self._host

    def add_core_command(self, command: click.Command) -> None:
        self.add_command(command)
        self._core_commands.add(command.name or "")

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name in self._core_commands:
            raise NanofluxError(f"a plugin tried to replace the core command {name!r}")
        super().add_command(cmd, name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name not in self._core_commands:
            plugin_commands = self.host().commands
            if cmd_name in plugin_commands:
                command = plugin_commands.get(cmd_name)
        return command

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
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug or a library's surprise: one line, not a traceback
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            where = ctx.invoked_subcommand or ctx.info_name
            detail = " ".join(str(exc).split())[:300] or type(exc).__name__
            click.secho(
                f"Error: {where}: unexpected {type(exc).__name__}: {detail} "
                "(run with --debug for the traceback)",
                err=True,
                fg="red",
            )
            sys.exit(1)


def make_cli(host: PluginHost | Callable[..., PluginHost]) -> NanofluxGroup:
    """The ``nanoflux`` group, its commands using ``host``, or what
    ``host(reserved_commands=...)`` loads (:meth:`PluginHost.load` takes that)."""
    import importlib

    @click.group(
        cls=NanofluxGroup,
        host=host,
        epilog="Commands that plugins add run when named; `nanoflux plugins` lists plugins.",
    )
    @click.version_option(package_name="nanoflux")
    @click.option("--debug", is_flag=True, help="Show tracebacks.")
    @click.pass_context
    def cli(ctx: click.Context, debug: bool) -> None:
        """NanoFlux: small, verified fine-tuning datasets from adversarial model rounds."""
        ctx.ensure_object(dict)
        ctx.obj["debug"] = debug

    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        for command in module.COMMANDS:
            cli.add_core_command(command)
    return cli


def current_host() -> PluginHost:
    """The plugin host of the ``nanoflux`` group running the current command."""
    root = click.get_current_context().find_root().command
    if not isinstance(root, NanofluxGroup):
        raise UsageError("this command runs inside the group make_cli() builds")
    return root.host()


def _load_host(reserved_commands: frozenset[str]) -> PluginHost:
    from ..plugins import PluginHost

    return PluginHost.load(reserved_commands=reserved_commands)


def main() -> None:
    make_cli(_load_host)(prog_name="nanoflux")
