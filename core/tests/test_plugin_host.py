"""Loading plugins: isolation, allowlist, duplicate ids, identity of registrations."""

import json
import subprocess
import sys
import textwrap

import pytest

from nanoflux import hookimpl
from nanoflux.errors import ConfigError, PluginError
from nanoflux.plugins import PluginHost, Registry


class GoodPlugin:
    @staticmethod
    @hookimpl
    def register_backends(register):
        register("good", lambda spec: None, description="a good backend")


class ClashingPlugin:
    @staticmethod
    @hookimpl
    def register_backends(register):
        register("scripted", lambda spec: None)


class RaisingPlugin:
    @staticmethod
    @hookimpl
    def register_domains(register):
        raise RuntimeError("boom")


class UnknownHookPlugin:
    @staticmethod
    @hookimpl
    def register_flux_capacitors(register):
        pass


def test_builtins_register_through_hooks(builtin_host):
    assert "scripted" in builtin_host.backends
    assert "hashing" in builtin_host.embedders
    assert "memory" in builtin_host.stores
    assert builtin_host.backends.entry("scripted").plugin == "nanoflux.default_plugins.scripted"


def test_duplicate_id_names_both_plugins():
    host = PluginHost.load(allow=[], extra=[("clasher", ClashingPlugin)])
    (error,) = host.errors
    assert error.plugin == "clasher"
    assert "nanoflux.default_plugins.scripted" in error.error and "clasher" in error.error
    # the first registration stands; the clash is never silently renamed
    assert builtin_plugin(host, "scripted") == "nanoflux.default_plugins.scripted"


def builtin_plugin(host, prefix):
    return host.backends.entry(prefix).plugin


def test_a_failing_hook_is_isolated():
    host = PluginHost.load(allow=[], extra=[("raiser", RaisingPlugin), ("good", GoodPlugin)])
    assert [e.plugin for e in host.errors] == ["raiser"]
    assert "boom" in host.errors[0].error
    assert "good" in host.backends


def test_unknown_hook_is_reported():
    host = PluginHost.load(allow=[], extra=[("odd", UnknownHookPlugin)])
    assert "register_flux_capacitors" in host.errors[0].error
    assert "odd" not in host.plugins


def test_registry_rejects_duplicates_and_names_known_ids():
    registry = Registry("widget")
    registry.add("a", 1, "p1")
    with pytest.raises(PluginError, match="p1 and p2"):
        registry.add("a", 2, "p2")
    with pytest.raises(ConfigError, match="installed: a"):
        registry.get("b")


def test_unknown_model_prefix_lists_installed(builtin_host):
    with pytest.raises(ConfigError, match=r"installed prefixes: .*scripted"):
        builtin_host.open_backend("nosuch:model")


@pytest.fixture
def broken_plugin_path(tmp_path):
    """A real installed distribution whose entry point fails to import."""
    (tmp_path / "nanoflux_broken.py").write_text("raise ImportError('this plugin is broken')\n")
    (tmp_path / "nanoflux_fine.py").write_text(
        textwrap.dedent("""
        from nanoflux import hookimpl

        @hookimpl
        def register_backends(register):
            register("fine", lambda spec: None)
    """)
    )
    for name in ("broken", "fine"):
        info = tmp_path / f"nanoflux_{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: nanoflux-{name}\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text(f"[nanoflux]\n{name} = nanoflux_{name}\n")
    return tmp_path


def nanoflux(args, pythonpath, env_extra=None):
    import os

    env = {**os.environ, "PYTHONPATH": str(pythonpath), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "nanoflux", *args], capture_output=True, text=True, env=env
    )


def test_broken_plugin_is_reported_by_name_and_others_work(broken_plugin_path):
    result = nanoflux(["plugins", "--json"], broken_plugin_path)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert "this plugin is broken" in rows["broken"]["error"]
    assert rows["fine"]["error"] is None
    assert rows["fine"]["provides"] == {"backends": ["fine"]}
    assert rows["fine"]["version"] == "1.0"


def test_allowlist_selects_plugins(broken_plugin_path):
    result = nanoflux(["plugins", "--json"], broken_plugin_path, {"NANOFLUX_LOAD_PLUGINS": "fine"})
    names = {row["name"] for row in json.loads(result.stdout)}
    assert "fine" in names and "broken" not in names
    result = nanoflux(["plugins", "--json"], broken_plugin_path, {"NANOFLUX_LOAD_PLUGINS": ""})
    assert {row["builtin"] for row in json.loads(result.stdout)} == {True}
