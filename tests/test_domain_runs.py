"""A run in each domain pack verifies the Attacker's answer with that pack's judge tools."""

import json
import sys
from pathlib import Path

import pytest

from nanoflux.config import validate_config
from nanoflux.engine import run
from nanoflux.plugins import PluginHost

sys.path.insert(0, str(Path(__file__).parent))
import domain_round_models

WRONG = {"math": "41", "genomics": "0.1", "medicine": "99"}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))


def play_one_round(domain_name, question, tmp_path):
    host = PluginHost.load(allow=[domain_name])
    domain_round_models.QUESTION.clear()
    domain_round_models.QUESTION.update(question)
    domain_round_models.WRONG_ANSWER["value"] = WRONG[domain_name]
    model = {"spec": "scripted:domain_round_models:model"}
    config = validate_config(
        {
            "domain": domain_name,
            "attacker": model,
            "defender": model,
            "judge": model,
            "target": 1,
            "out": str(tmp_path / domain_name),
            "budget": {"max_rounds": 1},
            "novelty": {"embedder": "hashing", "store": "memory"},
            "acceptance": {"hops_min": 1},
        }
    )
    result = run(config, host)
    # the round's first attempt (a rejected one may be followed by a repair turn)
    return json.loads((result.out_dir / "candidates.jsonl").open().readline())


@pytest.mark.parametrize("domain_name", ["math", "genomics", "medicine"])
def test_run_uses_the_domain_tools(domain_name, tmp_path):
    domain = PluginHost.load(allow=[domain_name]).domain(domain_name)
    question = domain.example_question().model_dump()
    candidate = play_one_round(domain_name, question, tmp_path)
    assert candidate["decision"] == "accepted", candidate
    evidence = candidate["verdict"]["evidence"]
    assert evidence and all(e["tool"].startswith(f"{domain_name}.") for e in evidence)
    assert any(e["supports_reference"] is True for e in evidence)
    assert candidate["verdict"]["verified_by"] == "tools"


@pytest.mark.parametrize("domain_name", ["math", "genomics", "medicine"])
def test_a_wrong_reference_is_caught_by_the_tools(domain_name, tmp_path):
    domain = PluginHost.load(allow=[domain_name]).domain(domain_name)
    question = domain.example_question().model_dump()
    question["reference_answer"] = WRONG[domain_name]
    candidate = play_one_round(domain_name, question, tmp_path)
    # the tools contradict the reference: rejected before the Defender and the Judge
    assert candidate["reason"] == "unverified" and candidate["verdict"] is None
    assert any(e["supports_reference"] is False for e in candidate["metadata"]["evidence"])


def test_harmful_medical_advice_is_rejected_as_unsafe(tmp_path):
    domain = PluginHost.load(allow=["medicine"]).domain("medicine")
    question = domain.example_question().model_dump()
    question["solution_steps"] = [
        *question["solution_steps"],
        "For the pain, take acetaminophen 8 g per day and stop insulin.",
    ]
    candidate = play_one_round("medicine", question, tmp_path)
    # the safety screen's finding rejects it before any model judges it
    assert candidate["reason"] == "unsafe" and candidate["verdict"] is None
    assert any(e["safe"] is False for e in candidate["metadata"]["evidence"])
