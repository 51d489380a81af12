"""Loading plugins: isolation, allowlist, duplicate ids, registrations checked when made
and kept only when all of a plugin's hooks succeed, the table of kinds behind it all."""

import json
import subprocess
import sys
import textwrap

import pytest

from nanoflux import hookimpl, hookspecs, testing
from nanoflux.errors import ConfigError, PluginError
from nanoflux.kinds import KINDS
from nanoflux.plugins import PluginHost, Registrations


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


class HalfwayPlugin:
    """Registers a backend, then its domain hook raises: it must keep nothing."""

    @staticmethod
    @hookimpl
    def register_backends(register):
        register("halfway", lambda spec: None)

    @staticmethod
    @hookimpl
    def register_domains(register):
        raise RuntimeError("broken after the backends")


def test_a_plugin_whose_later_hook_raises_keeps_nothing():
    host = PluginHost.load(allow=[], extra=[("halfway", HalfwayPlugin)])
    (error,) = host.errors
    assert error.plugin == "halfway" and "broken after the backends" in error.error
    assert "halfway" not in host.backends
    (row,) = [r for r in host.describe() if r["name"] == "halfway"]
    assert row["provides"] == {} and row["error"]


def plugin_registering(hook, *args):
    """A plugin class whose ``hook`` calls ``register(*args)``."""

    def implementation(register):
        register(*args)

    implementation.__name__ = hook
    return type("Plugin", (), {hook: staticmethod(hookimpl(implementation))})


@pytest.mark.parametrize(
    ("hook", "args", "problem"),
    [
        ("register_domains", ("not a domain",), "expected a nanoflux.domains.Domain, got str"),
        ("register_judge_tools", (object(),), "expected a nanoflux.tools.JudgeTool"),
        ("register_backends", ("text", "llamacpp:default"), "'text' is not callable: str"),
        ("register_trainers", ("", lambda: None), "non-empty string id"),
        ("register_embedders", ("e", lambda options: None, 3), "description"),
        ("register_benchmarks", ("engine", {"not": "callable"}), "is not callable: dict"),
    ],
)
def test_registrations_are_checked_when_made(hook, args, problem):
    host = PluginHost.load(allow=[], extra=[("odd", plugin_registering(hook, *args))])
    (error,) = host.errors
    assert error.plugin == "odd"
    assert f"plugin odd: {hook}: " in error.error and problem in error.error
    assert host.provided_by("odd") == {}


def test_one_plugin_registering_an_id_twice_is_refused():
    class Twice:
        @staticmethod
        @hookimpl
        def register_backends(register):
            register("twice", lambda spec: None)
            register("twice", lambda spec: None)

    host = PluginHost.load(allow=[], extra=[("twice", Twice)])
    assert "registered twice" in host.errors[0].error and "twice" not in host.backends


def test_a_factory_that_makes_the_wrong_thing_is_named():
    liar = plugin_registering("register_trainers", "liar", lambda: "not a trainer")
    host = PluginHost.load(allow=[], extra=[("liar", liar)])
    with pytest.raises(PluginError, match="plugin liar: the trainer factory 'liar' returned str"):
        host.open_trainer("liar")


def test_the_table_of_kinds_matches_the_hooks_and_the_host(builtin_host):
    registration_hooks = {n for n in dir(hookspecs) if n.startswith("register_")}
    assert {kind.hook for kind in KINDS} == registration_hooks
    for kind in KINDS:
        assert hasattr(builtin_host, kind.attribute), kind
        if kind.contract:
            assert hasattr(testing, kind.contract), kind
    provides = builtin_host.provided_by("nanoflux.default_plugins.scripted")
    assert provides == {"backends": ["scripted"]}


def test_unknown_hook_is_reported():
    host = PluginHost.load(allow=[], extra=[("odd", UnknownHookPlugin)])
    assert "register_flux_capacitors" in host.errors[0].error
    assert "odd" not in host.plugins


def test_registry_rejects_duplicates_and_names_known_ids():
    registry = Registrations("widget")
    registry.add("a", 1, "p1")
    with pytest.raises(PluginError, match="p1 and p2"):
        registry.add("a", 2, "p2")
    with pytest.raises(ConfigError, match="installed: a"):
        registry.get("b")


def test_unknown_model_prefix_lists_installed(builtin_host):
    with pytest.raises(ConfigError, match=r"installed prefixes: .*scripted"):
        builtin_host.open_backend("nosuch:model")


def install_plugin(folder, name, source):
    """A real installed distribution ``nanoflux-NAME`` 1.0 in ``folder`` (a path entry):
    module ``nanoflux_NAME`` with ``source``, and its entry point in group nanoflux."""
    (folder / f"nanoflux_{name}.py").write_text(textwrap.dedent(source))
    info = folder / f"nanoflux_{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: nanoflux-{name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[nanoflux]\n{name} = nanoflux_{name}\n")


@pytest.fixture
def broken_plugin_path(tmp_path):
    """A real installed distribution whose entry point fails to import."""
    install_plugin(tmp_path, "broken", "raise ImportError('this plugin is broken')\n")
    install_plugin(
        tmp_path,
        "fine",
        """
        from nanoflux import hookimpl, hookspecs, testing

        @hookimpl
        def register_backends(register):
            register("fine", lambda spec: None)
    """,
    )
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


@pytest.fixture
def marking_plugin_path(tmp_path):
    """An installed plugin that leaves a file behind when it is imported, and adds a command."""
    marker = tmp_path / "imported"
    install_plugin(
        tmp_path,
        "marking",
        f"""
        import pathlib

        import click

        from nanoflux import hookimpl

        pathlib.Path({str(marker)!r}).write_text("yes")

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello from a plugin")
    """,
    )
    return tmp_path, marker


def test_version_and_help_load_no_plugin(marking_plugin_path):
    path, marker = marking_plugin_path
    for args in (["--version"], ["--help"], ["run", "--help"]):
        result = nanoflux(args, path)
        assert result.returncode == 0, result.stderr
        assert not marker.exists(), f"nanoflux {' '.join(args)} imported a plugin"
    # a command that is not core's loads the plugins, which may provide it
    result = nanoflux(["hello"], path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello from a plugin" and marker.exists()


def test_commands_use_the_host_they_are_given(arith_host):
    from click.testing import CliRunner

    from nanoflux.cli import make_cli

    loads = []

    def load(reserved_commands):
        loads.append(sorted(reserved_commands))
        return arith_host

    cli = make_cli(load)
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0 and loads == []
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    assert "arith" in {row["name"] for row in json.loads(result.stdout)}
    (reserved,) = loads  # loaded once, with core's command names reserved
    assert {"run", "train", "eval", "plugins"} <= set(reserved)


def test_a_plugin_cannot_replace_a_core_command(builtin_host):
    import click

    from nanoflux.cli import make_cli
    from nanoflux.errors import NanofluxError

    cli = make_cli(builtin_host)
    with pytest.raises(NanofluxError, match="core command 'run'"):
        cli.add_command(click.Command("run"))


# -- commands: a kind like the others ---------------------------------------------------


class CommandsPlugin:
    """Registers an embedder, then adds two commands, one under another name."""

    @staticmethod
    @hookimpl
    def register_embedders(register):
        register("cmd-embedder", lambda options: None)

    @staticmethod
    @hookimpl
    def register_commands(cli):
        import click

        @cli.command()
        def greet():
            click.echo("hi")

        cli.add_command(click.Command("shout", callback=lambda: click.echo("HI")), "yell")


def test_commands_are_registrations_kept_by_the_host():
    host = PluginHost.load(allow=[], extra=[("cmds", CommandsPlugin)])
    assert not host.errors
    assert host.provided_by("cmds") == {
        "embedders": ["cmd-embedder"],
        "commands": ["greet", "yell"],
    }
    assert host.commands.entry("yell").plugin == "cmds"
    assert host.commands.get("yell").name == "yell"


class CommandsThenRaises(CommandsPlugin):
    @staticmethod
    @hookimpl
    def register_commands(cli):
        CommandsPlugin.register_commands(cli)
        raise RuntimeError("commands broke halfway")


def test_a_plugin_whose_register_commands_raises_keeps_nothing():
    host = PluginHost.load(allow=[], extra=[("cmds", CommandsThenRaises)])
    (error,) = host.errors
    assert error.plugin == "cmds" and "register_commands failed" in error.error
    assert "commands broke halfway" in error.error
    assert "cmd-embedder" not in host.embedders and "greet" not in host.commands
    assert host.provided_by("cmds") == {}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("cli.add_command('not a command')", "expected a click.core.Command, got str"),
        ("cli.add_command(click.Command('run'))", "command 'run' is core's own"),
        ("cli.add_command(click.Command('x')); cli.add_command(click.Command('x'))", "twice"),
    ],
)
def test_commands_are_checked_when_added(body, problem):
    namespace = {}
    exec(f"import click\ndef register_commands(cli):\n    {body}\n", namespace)
    plugin = type(
        "P", (), {"register_commands": staticmethod(hookimpl(namespace["register_commands"]))}
    )
    host = PluginHost.load(allow=[], extra=[("odd", plugin)], reserved_commands={"run"})
    (error,) = host.errors
    assert error.plugin == "odd" and problem in error.error
    assert host.provided_by("odd") == {}


@pytest.fixture
def broken_commands_path(tmp_path):
    """An installed plugin that registers an embedder, adds a command, then fails in
    register_commands; and one whose command takes a core command's name."""
    install_plugin(
        tmp_path,
        "halfcmd",
        """
        import click

        from nanoflux import hookimpl
        from nanoflux.default_plugins.hashing import HashingEmbedder

        @hookimpl
        def register_embedders(register):
            register("halfcmd-embedder", lambda options: HashingEmbedder())

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def halfcmd():
                click.echo("should never run")

            raise RuntimeError("register_commands is broken")
    """,
    )
    install_plugin(
        tmp_path,
        "usurper",
        """
        import click

        from nanoflux import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command("eval")
            def fake_eval():
                click.echo("not core's eval")
    """,
    )
    return tmp_path


def test_an_installed_plugin_whose_commands_fail_keeps_nothing(broken_commands_path):
    result = nanoflux(["plugins", "--json"], broken_commands_path)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert "register_commands is broken" in rows["halfcmd"]["error"]
    assert rows["halfcmd"]["provides"] == {}
    assert "'eval' is core's own" in rows["usurper"]["error"]
    assert rows["usurper"]["provides"] == {}
    # the command it added is not there, and core's eval is still core's
    result = nanoflux(["halfcmd"], broken_commands_path)
    assert result.returncode == 2 and "No such command 'halfcmd'" in result.stderr
    result = nanoflux(["eval", "--help"], broken_commands_path)
    assert result.returncode == 0 and "not core's eval" not in result.stdout
