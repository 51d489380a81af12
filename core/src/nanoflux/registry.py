"""The catalogue of first-party plugins (``registry.toml``): names, kinds and folders,
for ``nanoflux install`` and ``nanoflux plugins available``. Not to be confused with
what loaded plugins registered (:class:`nanoflux.plugins.Registrations`)."""

from __future__ import annotations

import os
import tomllib
from importlib import metadata, resources
from pathlib import Path

from pydantic import Field

from .errors import ConfigError, UsageError
from .kinds import CATALOGUE_KINDS
from .records import Record


class RegistryEntry(Record):
    name: str
    kind: list[str] = Field(min_length=1)
    distribution: str
    path: str
    description: str


def registry_file() -> tuple[str, Path | None]:
    """The registry text and, in a source checkout, the repository root it sits in."""
    explicit = os.environ.get("NANOFLUX_REGISTRY")
    if explicit:
        path = Path(explicit)
        return path.read_text("utf-8"), path.parent
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "registry.toml"
        if candidate.is_file() and (parent / "core").is_dir():
            return candidate.read_text("utf-8"), parent
    # installed from a wheel: the copy packaged with core
    return resources.files("nanoflux").joinpath("registry.toml").read_text("utf-8"), None


def load_registry() -> tuple[list[RegistryEntry], Path | None]:
    text, root = registry_file()
    data = tomllib.loads(text)
    entries = []
    for key, table in data.get("plugins", {}).items():
        try:
            entries.append(RegistryEntry(name=key, **table))
        except Exception as exc:
            raise ConfigError(f"registry.toml: plugins.{key}: {exc}") from exc
        for kind in entries[-1].kind:
            if kind not in CATALOGUE_KINDS:
                raise ConfigError(
                    f"registry.toml: plugins.{key}.kind: unknown kind {kind!r}",
                    hint=f"kinds: {', '.join(CATALOGUE_KINDS)}",
                )
    return entries, root


def is_installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def resolve(names: list[str]) -> list[str]:
    """pip requirements for registry names: a local path in a checkout, else the distribution."""
    entries, root = load_registry()
    by_name = {}
    for entry in entries:
        by_name[entry.name] = entry
        by_name[entry.distribution] = entry
    requirements = []
    for name in names:
        entry = by_name.get(name)
        if entry is None:
            known = ", ".join(sorted(e.name for e in entries))
            raise UsageError(f"{name!r} is not in the registry", hint=f"known: {known}")
        if root is not None and (root / entry.path / "pyproject.toml").is_file():
            requirements.append(str(root / entry.path))
        else:
            requirements.append(entry.distribution)
    return requirements
