"""kill -9 at random instants, resume each time: nothing lost, nothing twice."""

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def cli_env(tmp_path):
    """Environment for a `nanoflux` subprocess that sees the arithmetic test plugin."""
    site = tmp_path / "site"
    info = site / "nanoflux_test_arith-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nanoflux-test-arith\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text("[nanoflux]\narith = nanoflux_test_arith\n")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(HERE)]),
        "NANOFLUX_LOAD_PLUGINS": "arith",
        "NANOFLUX_HOME": str(tmp_path / "home"),
    }


def write_config(tmp_path, target=25, latency=0.04):
    path = tmp_path / "run.toml"
    spec = "scripted:nanoflux_test_arith"
    path.write_text(f"""
domain = "arith"
target = {target}
lanes = 3
[attacker]
spec = "{spec}:model"
options = {{ latency = {latency} }}
[defender]
spec = "{spec}:other_model"
options = {{ latency = {latency} }}
[judge]
spec = "{spec}:model"
[novelty]
embedder = "hashing"
store = "memory"
store_options = {{ path = "{tmp_path / "store"}" }}
""")
    return path


def nanoflux(*args, env):
    return [sys.executable, "-m", "nanoflux", *args]


def count_lines(path):
    return path.read_bytes().count(b"\n") if path.exists() else 0


def lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_kill_nine_and_resume_loses_nothing_and_repeats_nothing(tmp_path, cli_env):
    config = write_config(tmp_path)
    out = tmp_path / "run"
    rng = random.Random(20260922)
    command = nanoflux("run", "--config", str(config), "--out", str(out), "--quiet", env=cli_env)
    kills = 0
    candidates_file = out / "candidates.jsonl"
    for _ in range(60):
        process = subprocess.Popen(command, env=cli_env, stderr=subprocess.PIPE, text=True)
        # Kill a few rounds into this session, at a random instant within a round.
        goal = count_lines(candidates_file) + rng.randint(1, 4)
        deadline = time.monotonic() + 60
        while process.poll() is None and count_lines(candidates_file) < goal:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.06))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            command = nanoflux("run", "--resume", str(out), "--quiet", env=cli_env)
            continue
        assert process.returncode == 0, process.stderr.read()
        break
    else:
        pytest.fail("the run never finished")
    assert kills >= 3, "the test should have killed the run several times"

    dataset = lines(out / "dataset.jsonl")
    candidates = lines(out / "candidates.jsonl")
    ids = [example["id"] for example in dataset]
    assert len(ids) == 25 and len(set(ids)) == 25
    accepted = [c["example_id"] for c in candidates if c["decision"] == "accepted"]
    assert sorted(accepted) == sorted(ids)
    # Attempts are numbered without gaps or repeats across resumes. A round may hold
    # several attempts (an attack, then repair or harder turns naming their parent):
    # rounds go up one at a time, each opens with exactly one attack, and a follow-up
    # names an earlier attempt of its own round.
    assert [c["index"] for c in candidates] == list(range(len(candidates)))
    rounds = [c["round"] for c in candidates]
    assert rounds[0] == 0 and all(b - a in (0, 1) for a, b in itertools.pairwise(rounds))
    attacks = [c["round"] for c in candidates if c.get("turn", "attack") == "attack"]
    assert attacks == list(range(rounds[-1] + 1))
    seen = set()
    for c in candidates:
        assert c["candidate_id"] not in seen
        if c.get("parent_id") is not None:
            assert c["parent_id"] in seen and c["parent_id"].split(".")[0] == str(c["round"])
        seen.add(c["candidate_id"])
    stats = json.loads((out / "stats.json").read_text())
    assert stats["accepted"] == 25 and stats["attempts"] == len(candidates)
    manifest = json.loads((out / "manifest.json").read_text())
    # a kill before the run directory was opened leaves no resume mark
    assert 1 <= len(manifest["resumed_at"]) <= kills
    # one session per start, each with the code it ran and the attempt it went on from
    sessions = manifest["sessions"]
    assert len(sessions) == 1 + len(manifest["resumed_at"])
    assert [s["started_at"] for s in sessions[1:]] == manifest["resumed_at"]
    starts = [s["from_attempt"] for s in sessions]
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] <= len(candidates)
    assert all("source" in s and s["nanoflux_version"] for s in sessions)

    # The novelty store agrees with dataset.jsonl.
    from nanoflux.default_plugins.memory_store import MemoryStore

    store = MemoryStore(tmp_path / "store")
    collection = json.loads((out / "manifest.json").read_text())["novelty"]["collection"]
    assert store.ids(collection, run_id="run") == set(ids)


def test_resume_refuses_changed_models(tmp_path, cli_env):
    config = write_config(tmp_path, target=2)
    out = tmp_path / "run"
    subprocess.run(
        nanoflux("run", "--config", str(config), "--out", str(out), "--quiet", env=cli_env),
        env=cli_env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        nanoflux("run", "--resume", str(out), "--attacker", "scripted:x", env=cli_env),
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "only --target and the budgets" in result.stderr
    # extending the target continues the same run
    result = subprocess.run(
        nanoflux("run", "--resume", str(out), "--target", "4", env=cli_env),
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert len(lines(out / "dataset.jsonl")) == 4
    assert "4 accepted" in result.stdout


def test_export_formats(tmp_path, cli_env):
    config = write_config(tmp_path, target=3)
    out = tmp_path / "run"
    subprocess.run(
        nanoflux("run", "--config", str(config), "--out", str(out), "--quiet", env=cli_env),
        env=cli_env,
        check=True,
    )
    dataset = lines(out / "dataset.jsonl")
    for fmt in ("messages", "alpaca", "sharegpt", "dpo"):
        target = tmp_path / f"{fmt}.jsonl"
        subprocess.run(
            nanoflux("export", str(out), "--format", fmt, "--to", str(target), env=cli_env),
            env=cli_env,
            check=True,
            capture_output=True,
        )
        rows = lines(target)
        assert len(rows) == 3
        first = rows[0]
        question = dataset[0]["messages"][0]["content"]
        if fmt == "messages":
            assert first["messages"] == dataset[0]["messages"]
        elif fmt == "alpaca":
            assert first["instruction"] == question and first["output"].endswith(
                "Final answer: " + dataset[0]["metadata"]["reference_answer"]
            )
        elif fmt == "sharegpt":
            assert [t["from"] for t in first["conversations"]] == ["human", "gpt"]
        else:
            assert first["prompt"] == question
            assert first["rejected"].endswith(dataset[0]["metadata"]["defender_answer"])
            # the Defender's reply closed on its own answer line: stated once, not twice
            assert first["rejected"].count("Final answer:") == 1
            assert first["chosen"] != first["rejected"]
    pytest.importorskip("datasets")
    subprocess.run(
        nanoflux("export", str(out), "--format", "hf", "--to", str(tmp_path / "hf"), env=cli_env),
        env=cli_env,
        check=True,
        capture_output=True,
    )
    import datasets

    assert len(datasets.load_from_disk(str(tmp_path / "hf"))) == 3


def test_progress_lines_without_a_terminal_and_silence_with_quiet(tmp_path, cli_env):
    config = write_config(tmp_path, target=2, latency=0)
    loud = subprocess.run(
        nanoflux("run", "--config", str(config), "--out", str(tmp_path / "a"), env=cli_env),
        env=cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "accepted 2/2 after" in loud.stderr
    assert "dataset: " in loud.stdout and str(tmp_path / "a" / "dataset.jsonl") in loud.stdout
    quiet = subprocess.run(
        nanoflux(
            "run", "--config", str(config), "--out", str(tmp_path / "b"), "--quiet", env=cli_env
        ),
        env=cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert quiet.stdout == "" and quiet.stderr == ""


def test_the_last_line_names_the_dataset_only_when_there_is_one(tmp_path, cli_env):
    config = write_config(tmp_path, target=2, latency=0)
    done = subprocess.run(
        nanoflux(
            "run",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "a"),
            "--max-rounds",
            "1",
            env=cli_env,
        ),
        env=cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    # round 0's Defender is right (and its rewrite is the same question): nothing accepted
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("0 accepted") and "dataset" not in last
    assert not (tmp_path / "a" / "dataset.jsonl").exists()
