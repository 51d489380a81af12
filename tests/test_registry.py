"""registry.toml agrees with the folders, their pyprojects and their entry points."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from nanoflux.kinds import CATALOGUE_KINDS, KINDS
from nanoflux.registry import load_registry, resolve

ROOT = Path(__file__).resolve().parents[1]
ENTRIES, _ = load_registry()
KIND_HOOKS = {kind.catalogue: kind.hook for kind in KINDS if kind.catalogue}


def test_registry_lists_every_plugin_folder():
    folders = {
        p.parent.relative_to(ROOT).as_posix()
        for pattern in ("plugins/*/pyproject.toml", "domains/*/pyproject.toml")
        for p in ROOT.glob(pattern)
    }
    assert {e.path for e in ENTRIES} == folders


def test_packaged_copy_matches():
    assert (ROOT / "registry.toml").read_text() == (
        ROOT / "core/src/nanoflux/registry.toml"
    ).read_text()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_entry_matches_its_distribution(entry):
    folder = ROOT / entry.path
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    assert project["name"] == entry.distribution
    assert entry.name in project["entry-points"]["nanoflux"]
    assert (folder / "README.md").is_file() and (folder / "tests").is_dir()
    assert set(entry.kind) <= set(CATALOGUE_KINDS)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_installed_plugin_implements_its_kinds(entry):
    from nanoflux.plugins import PluginHost

    host = PluginHost.load(allow=[entry.name])
    assert entry.name in host.plugins, [e.error for e in host.errors]
    assert not host.errors, [e.error for e in host.errors]
    hooks = set(host.plugins[entry.name].hooks)
    assert {KIND_HOOKS[k] for k in entry.kind} <= hooks
    # and it registers at least one thing of each kind it claims
    listings = {kind.catalogue: kind.listing for kind in KINDS if kind.catalogue}
    assert {listings[k] for k in entry.kind} <= set(host.provided_by(entry.name))


def test_install_resolves_to_local_folders():
    (math_path,) = resolve(["math"])
    assert Path(math_path) == ROOT / "domains/nanoflux-math"
    result = subprocess.run(
        [sys.executable, "-m", "nanoflux", "install", "--dry-run", "qdrant", "nanoflux-openai"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "plugins/nanoflux-qdrant" in result.stdout and "plugins/nanoflux-openai" in result.stdout


def test_install_unknown_name_is_one_line_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "nanoflux", "install", "nosuch"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not in the registry" in result.stderr
