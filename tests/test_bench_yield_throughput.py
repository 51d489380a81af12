"""``nanoflux bench yield``: throughput beside acceptance, and a lanes/backend sweep run
back to back in one invocation (scripted models, a real math round)."""

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nanoflux.config import load_config
from nanoflux.errors import UsageError
from nanoflux.plugins import PluginHost

sys.path.insert(0, str(Path(__file__).parent))
import domain_round_models

from nanoflux.default_plugins.yield_bench import sweep, with_backend, yield_benchmark

MODEL = "scripted:domain_round_models:model"
SCRIPTED = {
    "rounds": "2",
    "config.attacker.spec": MODEL,
    "config.defender.spec": MODEL,
    "config.judge.spec": MODEL,
    "config.attacker.options": '{"latency": 0.2}',
    "config.novelty.embedder": "hashing",
    "config.rounds.harder": "false",
}


@pytest.fixture(autouse=True)
def math_round(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))
    domain = PluginHost.load(allow=["math"]).domain("math")
    domain_round_models.QUESTION.clear()
    domain_round_models.QUESTION.update(domain.example_question().model_dump())
    domain_round_models.WRONG_ANSWER["value"] = "41"


def test_a_run_reports_rounds_per_hour_and_tokens_per_second_per_role():
    report = yield_benchmark(SCRIPTED)
    assert report["rounds"] == 2 and report["lanes"] == 1
    assert report["backend"] == "llamacpp-server"  # the default roster's
    assert report["drafts"] == 1  # as many as the scripted backend decodes together
    # two rounds, the Attacker sleeping 0.2 s a call: no more than 2 / 0.4 s an hour
    assert 0 < report["rounds_per_hour"] <= 2 / 0.4 * 3600
    assert report["rounds_per_hour"] == pytest.approx(2 / report["wall_s"] * 3600, rel=0.1)
    rates = report["tokens_per_second"]
    assert set(rates) == {"attacker", "defender", "judge"}
    attacker = rates["attacker"]
    # inside its own calls the Attacker is faster than over the whole run's wall time
    assert attacker["generated_in_calls"] > attacker["generated"] > 0
    assert attacker["prompt"] > 0


def test_a_sweep_runs_each_setting_back_to_back_with_the_same_seed():
    report = yield_benchmark({**SCRIPTED, "lanes": "1,2"})
    first, second = report["runs"]
    assert (first["lanes"], second["lanes"]) == (1, 2)
    assert first["options"]["lanes"] == "1" and second["options"]["lanes"] == "2"
    # the same seed and budget: the same rounds, decided alike
    assert first["rounds"] == second["rounds"] == 2
    assert first["rejections"] == second["rejections"]
    compare = report["compare"]
    assert compare["lanes"] == [1, 2]
    assert compare["rounds_per_hour"] == [first["rounds_per_hour"], second["rounds_per_hour"]]


def test_swept_lists_zip_and_a_single_value_is_shared():
    runs = sweep({"lanes": "1,4", "backend": "llamacpp,llamacpp-server", "rounds": "3"})
    assert [(r["lanes"], r["backend"], r["rounds"]) for r in runs] == [
        ("1", "llamacpp", "3"),
        ("4", "llamacpp-server", "3"),
    ]
    assert [r["backend"] for r in sweep({"lanes": "1,2,4", "backend": "x"})] == ["x"] * 3
    assert sweep({"rounds": "3"}) == [{"rounds": "3"}]
    with pytest.raises(UsageError, match="backend lists 2 values for 3 runs"):
        sweep({"lanes": "1,2,4", "backend": "a,b"})


def test_backend_moves_the_roster_models_only():
    config = load_config(None, {"judge.spec": "openai:gpt-4o"}, check_out=False)
    moved = with_backend(config, "llamacpp-server")
    assert moved.attacker.spec == "llamacpp-server:default"
    assert moved.defender.spec == "llamacpp-server:qwen2.5-coder-0.5b"
    assert moved.judge.spec == "openai:gpt-4o"  # not a roster model: left alone
    assert with_backend(config, None) is config


def test_the_command_takes_lanes_and_prints_json():
    from nanoflux.cli import make_cli

    cli = make_cli(PluginHost.load)
    options = [arg for k, v in SCRIPTED.items() for arg in ("-o", f"{k}={v}")]
    done = CliRunner().invoke(cli, ["bench", "yield", "--json", *options, "-o", "lanes=2"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "yield" and report["lanes"] == 2
    assert "rounds_per_hour" in report and "tokens_per_second" in report
    bad = CliRunner().invoke(cli, ["bench", "yield", *options, "-o", "lanes=two"])
    assert bad.exit_code == 2 and "-o lanes=two" in bad.stderr, bad.output
