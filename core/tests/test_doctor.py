"""``nanoflux doctor``: each check in a child process, a native crash reported as one line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from nanoflux import doctor
from nanoflux.plugins import PluginHost

HERE = Path(__file__).parent
PLUGIN = "nanoflux_test_doctor"


@pytest.fixture
def child_env():
    """Children load only core's plugins plus the test plugin, found on PYTHONPATH."""
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "NANOFLUX_LOAD_PLUGINS": ""}


def backend_check(prefix):
    return doctor.Check("backend", prefix, (PLUGIN,))


def test_a_crashing_backend_is_one_failed_line_and_the_others_still_run(child_env):
    steady, crashy, remote = doctor.run_checks(
        [backend_check("steady"), backend_check("crashy"), backend_check("remote")],
        env=child_env,
    )
    assert crashy.status == "failed"
    assert crashy.detail.startswith("crashed (SIGSEGV) during the first completion")
    assert "rebuild the test library" in crashy.detail  # the backend's own crash hint
    assert crashy.facts["spec"] == "crashy:default"  # what it said before it died

    assert steady.status == "ok" and 'steady:default answered {"answer": 5}' in steady.detail
    assert "build: steady build" in steady.detail
    assert remote.status == "skipped" and "no offline default model" in remote.detail


def test_a_backend_that_reports_a_native_only_build_fails(child_env):
    (result,) = doctor.run_checks([backend_check("native")], env=child_env)
    assert result.status == "failed" and "built with -march=native" in result.detail


def test_plan_covers_every_backend_embedder_and_store():
    host = PluginHost.load(allow=[], extra=[(PLUGIN, __import__(PLUGIN))])
    labels = [check.label for check in doctor.plan(host)]
    for prefix in host.backends.ids():
        assert f"backend {prefix}" in labels
    assert {f"embedder {n}" for n in host.embedders.ids()} <= set(labels)
    assert {f"store {n}" for n in host.stores.ids()} <= set(labels)
    assert labels[-2:] == ["sandbox", "bubblewrap"]


def test_embedder_and_store_checks_run_the_builtin_ones(child_env):
    host = PluginHost.load(allow=[])
    checks = [c for c in doctor.plan(host) if c.kind in ("embedder", "store")]
    results = doctor.run_checks(checks, env=child_env)
    assert results and all(r.status == "ok" for r in results), results


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_doctor_command_runs_the_sandbox_and_prints_json(builtin_host):
    from nanoflux.cli import make_cli

    result = CliRunner().invoke(
        make_cli(builtin_host), ["doctor", "--json", "--only", "sandbox", "--only", "bubblewrap"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    sandbox, bwrap = report["checks"]
    assert sandbox["check"] == "sandbox" and "returned 45" in sandbox["detail"]
    assert bwrap["detail"].startswith("bubblewrap ")


def test_doctor_exits_non_zero_and_names_the_failed_check(builtin_host, monkeypatch):
    from nanoflux.cli import make_cli

    monkeypatch.setenv("NANOFLUX_BWRAP", "/nonexistent/bwrap")
    result = CliRunner().invoke(make_cli(builtin_host), ["doctor", "--only", "bubblewrap"])
    assert result.exit_code != 0
    assert "FAILED" in result.output and "1 of 1 checks failed: bubblewrap" in result.output


def test_an_unknown_check_name_is_a_usage_error(builtin_host):
    from nanoflux.cli import make_cli

    result = CliRunner().invoke(make_cli(builtin_host), ["doctor", "--only", "nothing"])
    assert result.exit_code == 2 and "no check named 'nothing'" in result.output


def test_a_plugin_that_failed_to_load_is_a_failed_check(builtin_host):
    from nanoflux.cli import make_cli
    from nanoflux.plugins import LoadError

    builtin_host.errors.append(LoadError("broken", "import failed: ImportError: no llama"))
    result = CliRunner().invoke(make_cli(builtin_host), ["doctor", "--json"])
    report = json.loads(result.stdout)
    first = report["checks"][0]
    assert (first["check"], first["status"]) == ("plugin broken", "failed")
    assert "no llama" in first["detail"] and result.exit_code != 0
