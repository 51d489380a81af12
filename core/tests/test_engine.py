"""The engine with scripted models: acceptance, rejections, repair, lanes, files."""

import json

import pytest

from nanoflux.config import validate_config
from nanoflux.engine import run

RESPONDERS = "scripted:nanoflux_test_arith"


def config(tmp_path, **overrides):
    data = {
        "domain": "arith",
        "attacker": {"spec": f"{RESPONDERS}:model"},
        "defender": {"spec": f"{RESPONDERS}:other_model"},
        "judge": {"spec": f"{RESPONDERS}:model"},
        "target": 5,
        "out": str(tmp_path / "run"),
        "novelty": {"embedder": "hashing", "store": "memory"},
        "acceptance": {"quality_min": 3.5, "quality_max": 4.49},
        # one attempt per round, as these tests count them; the turns have tests of their own
        "rounds": {"repair": False, "harder": False},
    }
    for key, value in overrides.items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return validate_config(data)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_fills_the_run_directory(tmp_path, arith_host):
    import nanoflux

    result = nanoflux.run(config(tmp_path), arith_host)  # the public Python API
    out = result.out_dir
    assert result.accepted == 5 and result.stopped_because == "target"
    dataset = lines(out / "dataset.jsonl")
    candidates = lines(out / "candidates.jsonl")
    assert len(dataset) == 5
    assert len({e["id"] for e in dataset}) == 5
    # every fifth round the defender is right: rejected with that reason
    assert candidates[0]["reason"] == "defender_correct"
    assert [c["decision"] for c in candidates].count("accepted") == 5
    example = dataset[0]
    assert example["messages"][0]["role"] == "user"
    assert example["messages"][1]["content"].endswith(
        f"Final answer: {example['metadata']['reference_answer']}"
    )
    assert example["metadata"]["defender_answer"] != example["metadata"]["reference_answer"]
    accepted = next(c for c in candidates if c["decision"] == "accepted")
    evidence = accepted["verdict"]["evidence"]
    assert evidence[0]["tool"] == "arith.evaluate" and evidence[0]["supports_reference"] is True
    assert accepted["verdict"]["reference_verified"] is True
    stats = json.loads((out / "stats.json").read_text())
    assert stats["accepted"] == 5 and stats["attempts"] == len(candidates)
    assert stats["rejections"] == {"defender_correct": 2}  # rounds 0 and 5
    assert stats["usage"]["attacker"]["calls"] == len(candidates)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["attacker"]["spec"].startswith("scripted:")
    assert manifest["ended_at"] and manifest["stopped_because"] == "target"
    assert "target = 5" in (out / "config.toml").read_text()
    assert "round 0: rejected (defender_correct)" in (out / "run.log").read_text()


def test_roles_alternate(tmp_path, arith_host):
    cfg = config(tmp_path, alternate=True)
    candidates = lines(run(cfg, arith_host).out_dir / "candidates.jsonl")
    assert candidates[0]["attacker"] == cfg.attacker.spec
    assert candidates[1]["attacker"] == cfg.defender.spec


def test_lanes_do_not_change_what_is_accepted(tmp_path, arith_host):
    one = run(config(tmp_path / "a", target=12), arith_host)
    many = run(
        config(tmp_path / "b", target=12, lanes=6, **{"attacker.options": {"latency": 0.01}}),
        arith_host,
    )
    assert lines(one.out_dir / "dataset.jsonl") == lines(many.out_dir / "dataset.jsonl")


def test_budget_stops_the_run(tmp_path, arith_host):
    result = run(config(tmp_path, target=100, **{"budget.max_rounds": 4}), arith_host)
    assert result.stopped_because == "max_rounds" and result.attempts == 4


def test_duplicate_is_rejected_before_the_defender(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    monkeypatch.setattr(arith, "question_for", lambda index, f=arith.question_for: f(1))
    cfg = config(tmp_path, **{"budget.max_rounds": 4, "rounds.remember_rejected": False})
    result = run(cfg, arith_host)
    candidates = lines(result.out_dir / "candidates.jsonl")
    reasons = [c["reason"] for c in candidates]
    assert reasons == ["defender_correct", "accepted", "duplicate", "duplicate"]
    assert candidates[2]["answer"] is None
    assert candidates[2]["usage"]["defender"]["calls"] == 0
    assert candidates[2]["novelty"]["nearest_id"] == candidates[1]["example_id"]


def test_malformed_output_is_repaired_once_then_counted(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    calls = []

    def flaky(request):
        calls.append(request)
        index = arith.round_of(request)
        if index == 0:
            return "I refuse to answer in JSON."  # round 0: repair fails too
        if len(request.messages) == 1 and index == 1:
            return '{"text": "half a question"'  # round 1: first try malformed, repair works
        return arith.question_for(index)

    monkeypatch.setattr(arith, "attacker", flaky)
    result = run(config(tmp_path, **{"budget.max_rounds": 2}), arith_host)
    candidates = lines(result.out_dir / "candidates.jsonl")
    assert candidates[0]["decision"] == "failed"
    assert candidates[0]["reason"] == "malformed_attacker"
    assert "no JSON object" in candidates[0]["error"]
    assert candidates[1]["decision"] == "accepted"
    repair = [r for r in calls if len(r.messages) == 3]
    assert repair and "not valid" in repair[0].messages[-1].content


def test_backend_failure_is_recorded_with_its_cause(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    def down(request):
        return {"__error__": "timeout"}

    monkeypatch.setattr(arith, "judge", down)
    result = run(config(tmp_path, **{"budget.max_rounds": 2}), arith_host)
    candidates = lines(result.out_dir / "candidates.jsonl")
    # round 0's Defender is right, so its Judge is never asked; round 1 reaches the Judge
    assert [c["reason"] for c in candidates] == ["defender_correct", "backend_error"]
    assert "timeout" in candidates[1]["error"]
    assert result.accepted == 0


def test_tool_evidence_overrides_the_judge(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    def lying_attacker(request):
        question = arith.question_for(arith.round_of(request))
        question["reference_answer"] = "7"  # the program says otherwise
        return question

    monkeypatch.setattr(arith, "attacker", lying_attacker)
    result = run(config(tmp_path, **{"budget.max_rounds": 2}), arith_host)
    candidate = lines(result.out_dir / "candidates.jsonl")[1]
    # The tools contradict the reference: rejected before the Defender or the Judge is
    # asked, with the evidence on record.
    assert candidate["reason"] == "unverified" and candidate["verdict"] is None
    assert candidate["usage"]["judge"]["calls"] == candidate["usage"]["defender"]["calls"] == 0
    evidence = candidate["findings"]["evidence"]
    assert evidence[0]["tool"] == "arith.evaluate" and evidence[0]["supports_reference"] is False


def test_tool_evidence_overrides_the_judge_model_in_the_verdict():
    from nanoflux.domains import Verification
    from nanoflux.engine.judge import combine
    from nanoflux.records import Scores, ToolEvidence, ToolResult

    confirming = ToolEvidence(
        tool="arith.evaluate",
        args={},
        result=ToolResult(ok=True, value=12),
        supports_reference=True,
    )
    doubting = Scores(
        reference_correct=False, defender_correct=True, coherence=4, safety=5, reasoning_quality=4
    )
    verdict = combine([doubting], Verification(evidence=[confirming]), checker_says_correct=False)
    assert verdict.reference_verified is True and verdict.verified_by == "tools"
    assert verdict.defender_correct is False
    assert set(verdict.overridden_by_tools) == {"reference_correct", "defender_correct"}


def test_quality_band_and_unsafe(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    original = arith.judge

    def picky(request):
        verdict = original(request)
        index = arith.round_of(request)
        verdict["reasoning_quality"] = 5 if index == 1 else 4
        verdict["safety"] = 1 if index == 2 else 5
        return verdict

    monkeypatch.setattr(arith, "judge", picky)
    result = run(config(tmp_path, **{"budget.max_rounds": 4}), arith_host)
    reasons = [c["reason"] for c in lines(result.out_dir / "candidates.jsonl")]
    assert reasons == ["defender_correct", "quality_out_of_band", "unsafe", "accepted"]


def test_judging_k_times_records_the_spread(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    scores = iter([3.6, 4.4, 4.0] * 10)
    original = arith.judge

    def varied(request):
        return {**original(request), "reasoning_quality": next(scores)}

    monkeypatch.setattr(arith, "judge", varied)
    result = run(config(tmp_path, target=1, **{"judging.samples": 3}), arith_host)
    accepted = [
        c for c in lines(result.out_dir / "candidates.jsonl") if c["decision"] == "accepted"
    ]
    verdict = accepted[0]["verdict"]
    assert verdict["quality_spread"] == pytest.approx(0.8)
    assert verdict["reasoning_quality"] == pytest.approx(4.0)


def test_non_empty_out_dir_is_refused(tmp_path, arith_host):
    from nanoflux.errors import UsageError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("x")
    with pytest.raises(UsageError, match="--resume"):
        run(config(tmp_path), arith_host)


def test_attacker_is_told_the_defenders_weaknesses(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    prompts = []
    original = arith.attacker

    def watching(request):
        prompts.append(request.messages[-1].content)
        return original(request)

    monkeypatch.setattr(arith, "attacker", watching)
    cfg = config(tmp_path, alternate=False, **{"budget.max_rounds": 4})
    run(cfg, arith_host)
    assert "Weak: none yet" in prompts[0] and "Wrong before: none yet" in prompts[0]
    # round 1 was accepted (the defender failed a question on 'addition')
    assert "Weak: addition" in prompts[2]
    assert "Avoid: - Bo keeps" in prompts[2]
    # its wrong answer is shown where the round targets its skill, and only there
    later = prompts[2:]
    on_addition = [p for p in later if p.startswith("Write a arith question on addition.")]
    assert on_addition and all("its wrong answer" in p for p in on_addition)
    others = [p for p in later if p not in on_addition]
    assert others and all("Wrong before: none yet" in p for p in others)


def test_bad_config_is_one_line_naming_file_and_field(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text('target = "many"\n[acceptance]\nquality_min = 9\n')
    result = subprocess.run(
        [sys.executable, "-m", "nanoflux", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert str(bad) in result.stderr and "target" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_copy_of_the_prompt_example_is_rejected(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    original = arith.attacker

    def copier(request):
        question = original(request)
        question["text"] = "Write a"  # words of the template itself
        return question

    monkeypatch.setattr(arith, "attacker", copier)
    result = run(config(tmp_path, **{"budget.max_rounds": 1}), arith_host)
    (candidate,) = lines(result.out_dir / "candidates.jsonl")
    assert candidate["reason"] == "copied_prompt" and candidate["answer"] is None


def test_judge_model_alone_does_not_verify(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    original = arith.attacker

    def no_program(request):
        return {**original(request), "program": ""}

    monkeypatch.setattr(arith, "attacker", no_program)
    result = run(config(tmp_path, **{"budget.max_rounds": 2}), arith_host)
    candidate = lines(result.out_dir / "candidates.jsonl")[1]
    # nothing to run: the policy wants a tool's word, so the Judge is not even asked
    assert candidate["reason"] == "unverified" and candidate["verdict"] is None
    assert candidate["findings"]["tools_verdict"] is None
    relaxed = run(
        config(
            tmp_path / "relaxed",
            **{"budget.max_rounds": 2, "acceptance.require_tool_verification": False},
        ),
        arith_host,
    )
    assert relaxed.accepted == 1


def test_a_run_that_stops_accepting_stops(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    monkeypatch.setattr(arith, "question_for", lambda index, f=arith.question_for: f(1))
    cfg = config(tmp_path, target=50, **{"budget.patience": 3, "rounds.remember_rejected": False})
    result = run(cfg, arith_host)
    assert result.stopped_because == "patience"
    assert result.accepted == 1 and result.attempts == 5  # 1 accepted, then 3 duplicates


@pytest.mark.parametrize(
    ("rationale", "inconsistent"),
    [
        # as 1.5B Judges wrote them, of examples they scored 4 (bench yield, README runs)
        (
            "The student's reasoning is correct, but the teacher's solution has a major gap "
            "in the second step.",
            True,
        ),
        ("The teacher's solution is incorrect because it does not account for it.", True),
        ("The student's answer is correct, but the teacher's solution is incomplete.", True),
        ("The reference solution contains an error in step 2.", True),
        (
            "The student's reasoning is correct, but the teacher's solution has several "
            "issues. The teacher's solution is missing the step of adding the cookies.",
            True,
        ),
        # a minor gap, or faults of the student's only, are not the reference's failing
        (
            "The student's answer is correct and the teacher's solution is also correct, but "
            "the teacher's solution has a minor gap in the reasoning.",
            False,
        ),
        ("The teacher's solution is correct and every step is justified and needed.", False),
        ("The student's answer is wrong; the teacher's solution is sound.", False),
    ],
)
def test_a_rationale_that_faults_the_reference_contradicts_a_good_score(rationale, inconsistent):
    from nanoflux.engine.judge import contradicts_rationale
    from nanoflux.records import Scores

    scores = Scores(
        reference_correct=True,
        defender_correct=False,
        coherence=4,
        safety=5,
        reasoning_quality=4,
        rationale=rationale,
    )
    assert contradicts_rationale(scores) is inconsistent
    if inconsistent:
        # scored 2, "major gaps", the score says what the rationale says
        low = scores.model_copy(update={"reasoning_quality": 2})
        assert contradicts_rationale(low) is False


def test_a_verdict_its_own_rationale_refutes_is_rejected(tmp_path, arith_host, monkeypatch):
    import nanoflux_test_arith as arith

    original = arith.judge

    def self_refuting(request):
        verdict = original(request)
        if arith.round_of(request) == 1:
            verdict["rationale"] = "The teacher's solution has a major gap in its last step."
        return verdict

    monkeypatch.setattr(arith, "judge", self_refuting)
    result = run(config(tmp_path, **{"budget.max_rounds": 3}), arith_host)
    found = lines(result.out_dir / "candidates.jsonl")
    assert [c["reason"] for c in found] == ["defender_correct", "judge_inconsistent", "accepted"]
    assert found[1]["verdict"]["inconsistent"] is True
    # switched off, the same verdict is accepted: the flag is recorded, the policy decides
    result = run(
        config(
            tmp_path / "off", **{"budget.max_rounds": 3, "acceptance.reject_inconsistent": False}
        ),
        arith_host,
    )
    found = lines(result.out_dir / "candidates.jsonl")
    assert [c["reason"] for c in found] == ["defender_correct", "accepted", "accepted"]
