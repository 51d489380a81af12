"""Inputs that used to end in ``unexpected ...`` or in a screenful of echoed value give
one line naming what is wrong and where (issues 22.7 and 23.8)."""

from __future__ import annotations

import re
import sys

import pytest
from click.testing import CliRunner

from nanoflux.cli import make_cli
from nanoflux.errors import ConfigError, NanofluxError, clip
from nanoflux.plugins import PluginHost

HUGE = "x" * 10_000_000


def nanoflux(*args: str, host=None):
    cli = make_cli(host if host is not None else PluginHost.load(allow=["math"]))
    return CliRunner().invoke(cli, list(args))


def one_error_line(result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output[-2000:]
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output[-2000:]
    assert "unexpected" not in lines[0]
    return lines[0]


def test_report_without_its_extra_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an import of a missing one does
    line = one_error_line(nanoflux("report", str(tmp_path)))
    assert "nanoflux report needs matplotlib" in line and "pip install 'nanoflux[report]'" in line
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    ("config", "what"),
    [
        (f'target = "{HUGE}"', "target: Input should be a valid integer"),
        (f'domain = "{HUGE}"', "unknown domain 'xxxx"),
        (f'attacker = "{HUGE}"', "model spec 'xxxx"),
    ],
    ids=["validated", "looked-up", "parsed"],
)
def test_a_10_mb_config_string_is_not_echoed_whole(tmp_path, config, what):
    path = tmp_path / "run.toml"
    path.write_text(config + "\n")
    line = one_error_line(nanoflux("run", "--config", str(path), "--out", str(tmp_path / "o")))
    assert what in line and re.search(r"… \(10,000,00\d characters\)", line)
    assert len(line) < 400


def test_target_true_is_refused_not_run_as_1(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("target = true\n")
    line = one_error_line(nanoflux("run", "--config", str(path), "--out", str(tmp_path / "o")))
    assert f"{path}: target: Input should be a valid integer (got true)" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("[novelty]\nenabled = 1", "novelty.enabled: Input should be a valid boolean (got 1)"),
        ("[budget]\nmax_rounds = 2.5", "budget.max_rounds: Input should be a valid integer"),
        ("seed = false", "seed: Input should be a valid integer (got false)"),
    ],
)
def test_config_values_are_taken_as_written(tmp_path, table, problem):
    from nanoflux.config import load_config

    path = tmp_path / "run.toml"
    path.write_text(table + "\n")
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_config(path, check_out=False)


def test_numbers_still_stand_for_floats_and_paths_are_strings(tmp_path):
    from nanoflux.config import load_config

    path = tmp_path / "run.toml"
    path.write_text('out = "runs/a"\n[acceptance]\nquality_min = 4\n[budget]\nmax_minutes = 3\n')
    config = load_config(path, check_out=False)
    assert config.acceptance.quality_min == 4.0 and config.budget.max_minutes == 3.0
    assert str(config.out) == "runs/a"


def test_bench_option_of_the_wrong_type_names_the_option():
    result = nanoflux("bench", "engine", "-o", "latency=abc", "-o", "rounds=3")
    line = one_error_line(result)
    assert "bench engine: -o latency=abc:" in line and "rounds" not in line
    assert "could not convert string to float: 'abc'" in line


def test_every_nanoflux_error_line_clips_what_nobody_reads():
    error = NanofluxError(f"path {'/a' * 3000}: bad\nsecond line", hint=f"use {'b' * 500}")
    line = error.one_line()
    assert "\n" not in line and len(line) < 400
    assert "(6,000 characters)" in line and "(500 characters)" in line
    assert "/a/… (6,000 characters): bad second line (use bbb" in line
    spaced = NanofluxError("words " * 100_000).one_line()
    assert len(spaced) < 2100 and spaced.endswith("(600,000 characters)")
    assert clip("short") == "short" and clip("y" * 81) == "y" * 79 + "… (81 characters)"
