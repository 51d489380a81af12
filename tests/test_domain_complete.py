"""``Domain.complete``: what the program decides is written into the problem before the
screens, recorded in the candidate, and what the Defender, the blind solve and the
dataset see."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import domain_round_models
from test_domain_runs import play_one_round

from nanoflux.default_plugins.scripted import attacking
from nanoflux.plugins import PluginHost

MARK = "[[the number of tins]]"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))


def test_what_the_domain_writes_in_is_what_every_role_sees(tmp_path, monkeypatch):
    domain = PluginHost.load(allow=["math"]).domain("math")
    question = domain.example_question().model_dump()
    stated = question["text"]
    number = next(w for w in stated.split() if w.isdigit())  # a number the program uses
    written = stated.replace(number, MARK, 1)
    seen = []

    def complete(self, asked):
        if MARK not in asked.text:
            return asked, []
        return asked.model_copy(update={"text": asked.text.replace(MARK, number)}), [
            f"{MARK} -> {number}"
        ]

    original = domain_round_models.model

    def recording(request):
        if not attacking(request):
            seen.append(request.messages[-1].content)
        return original(request)

    monkeypatch.setattr(type(domain), "complete", complete)
    monkeypatch.setattr(domain_round_models, "model", recording)
    candidate = play_one_round("math", {**question, "text": written}, tmp_path)
    assert candidate["decision"] == "accepted", candidate
    assert candidate["findings"]["completed"] == [f"{MARK} -> {number}"]
    assert candidate["question"]["text"] == stated
    assert seen and all(MARK not in prompt for prompt in seen)
    example = json.loads((tmp_path / "math" / "dataset.jsonl").read_text())
    assert MARK not in json.dumps(example)


def test_by_default_nothing_is_written_in():
    domain = PluginHost.load(allow=["math"]).domain("math")
    question = domain.example_question()
    assert domain.complete(question) == (question, [])


def test_a_copy_is_a_copy_before_the_domain_writes_anything_in(tmp_path, monkeypatch):
    """What the domain writes in could make a copied text look new: the copy screen also
    reads the question as the Attacker wrote it."""
    domain = PluginHost.load(allow=["math"]).domain("math")
    question = domain.example_question().model_dump()
    template = domain.prompts().attacker
    copied = max(template.splitlines(), key=len).strip()  # a line of its own brief

    def complete(self, asked):
        return asked.model_copy(update={"text": f"{asked.text} Lena has 3 more."}), ["added"]

    monkeypatch.setattr(type(domain), "complete", complete)
    candidate = play_one_round("math", {**question, "text": copied}, tmp_path)
    assert candidate["reason"] == "copied_prompt", candidate
    assert candidate["findings"]["completed"] == ["added"]
