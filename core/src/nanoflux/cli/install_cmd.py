"""``nanoflux install NAME...``: pip-install registry plugins into this interpreter."""

from __future__ import annotations

import subprocess
import sys

import click


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--editable", "-e", is_flag=True, help="Editable install of local plugin folders.")
@click.option("--dry-run", is_flag=True, help="Print the pip command instead of running it.")
def install(names: tuple[str, ...], editable: bool, dry_run: bool) -> None:
    """Install plugins by registry name (math, llamacpp, ...) or distribution name."""
    from ..errors import NanofluxError
    from ..registry import resolve

    requirements = resolve(list(names))
    command = [sys.executable, "-m", "pip", "install"]
    for requirement in requirements:
        command += ["-e", requirement] if editable and "/" in requirement else [requirement]
    if dry_run:
        click.echo(" ".join(command))
        return
    if subprocess.call(command) != 0:
        raise NanofluxError("pip install failed", hint="see pip's output above")


COMMANDS = [install]
