"""`nanoflux novelty` end to end: the real fastembed model, the embedded Qdrant store on
disk, and the math domain's GSM8K loader, in a NANOFLUX_HOME of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("nanoflux_fastembed")
pytest.importorskip("nanoflux_qdrant")
pytest.importorskip("nanoflux_math")

NATALIA = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?"
)
NATALIA_REWORDED = (
    "In April Natalia sold clips to 48 friends, and in May she sold half as many. "
    "How many clips did she sell in total over the two months?"
)
WENG = (
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of "
    "babysitting. How much did she earn?"
)
WENG_REWORDED = (
    "Babysitting pays Weng 12 dollars per hour. She babysat for 50 minutes yesterday. "
    "What did she earn?"
)
UNRELATED = (
    "A rectangle has a perimeter of 48 cm and its length is twice its width. What is its area?"
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "nanoflux-home"
    # this process too: a store opened here must use the same folder as the CLI
    monkeypatch.setenv("NANOFLUX_HOME", str(path))
    return path


def nanoflux(home, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "NANOFLUX_HOME": str(home),
        "NANOFLUX_LOAD_PLUGINS": "math,fastembed,qdrant",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "nanoflux", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def gsm8k(tmp_path):
    path = tmp_path / "test.jsonl"
    rows = [
        {"question": NATALIA, "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72"},
        {
            "question": "Betty is saving money for a new wallet which costs $100. She has only "
            "half of the money she needs. How much more money does Betty need?",
            "answer": "She has 100 / 2 = 50.\n#### 50",
        },
        {
            "question": "James writes a 3-page letter to 2 different friends twice a week. "
            "How many pages does he write a year?",
            "answer": "3*2*2*52 = 624\n#### 624",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def seeded(home, gsm8k):
    done = nanoflux(home, "novelty", "seed", "--domain", "math", "--from", f"math:gsm8k:{gsm8k}")
    assert done.returncode == 0, done.stderr
    return done


def check(home, text: str, *flags: str) -> dict:
    done = nanoflux(home, "novelty", "check", "--domain", "math", "--json", *flags, text)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_seed_reports_and_is_idempotent(home, gsm8k, seeded):
    assert f"seeded 3 protected items from math:gsm8k:{gsm8k}" in seeded.stdout
    again = nanoflux(
        home, "novelty", "seed", "--domain", "math", "--from", f"math:gsm8k:{gsm8k}", "--json"
    )
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["count"] == 3  # replaced by id, not added twice
    assert report["kinds"] == {"protected": 3, "accepted": 0}
    assert report["collection"] == "nanoflux-math-all-minilm-l6-v2-int8"
    # the store lives under NANOFLUX_HOME, nowhere else
    assert (home / "qdrant" / report["collection"] / "protected" / "edge_config.json").exists()


def test_a_reworded_benchmark_question_is_contaminated(home, seeded):
    report = check(home, NATALIA_REWORDED)
    assert report["verdict"] == "contaminated"
    assert report["nearest"]["id"].startswith("gsm8k:")
    assert report["nearest"]["kind"] == "protected"
    assert report["nearest"]["text"] == NATALIA
    assert report["similarity"] > 0.85

    text = nanoflux(home, "novelty", "check", "--domain", "math", NATALIA_REWORDED)
    assert text.stdout.startswith("contaminated (similarity 0.9")
    assert "nearest: protected gsm8k:" in text.stdout


def test_an_unrelated_question_is_novel(home, seeded):
    report = check(home, UNRELATED)
    assert report["verdict"] == "novel"
    assert report["similarity"] < 0.5


def test_thresholds_come_from_the_flags(home, seeded):
    report = check(home, NATALIA_REWORDED, "--contamination-threshold", "0.99")
    assert report["verdict"] == "novel"
    assert report["thresholds"] == {"duplicate": 0.9, "contaminated": 0.99}


def test_accepted_examples_of_earlier_runs_make_duplicates(home, seeded):
    # a run's gate (same embedder and store options as the CLI's defaults) remembers an example
    from nanoflux.novelty import NoveltyGate
    from nanoflux.plugins import PluginHost

    host = PluginHost.load(allow=["fastembed", "qdrant"])
    store = host.open_store("qdrant")
    try:
        gate = NoveltyGate(host.open_embedder("fastembed"), store, "math")
        gate.remember("math-0123456789ab", WENG, run_id="run-1")
    finally:
        store.close()

    report = check(home, WENG_REWORDED)
    assert report["verdict"] == "duplicate"
    assert report["nearest"]["id"] == "math-0123456789ab"
    assert report["nearest"]["run_id"] == "run-1"
    stats = nanoflux(home, "novelty", "stats", "--domain", "math", "--json")
    assert json.loads(stats.stdout)["kinds"] == {"protected": 3, "accepted": 1}


def test_a_store_held_by_another_process_is_a_clear_error(home, seeded):
    from nanoflux_qdrant.edge import EdgeStore

    holder = EdgeStore(home / "qdrant")
    holder.ensure_collection("nanoflux-math-all-minilm-l6-v2-int8", 384)
    try:
        done = nanoflux(home, "novelty", "check", "--domain", "math", UNRELATED)
    finally:
        holder.close()
    assert done.returncode == 2
    assert "is open in another process" in done.stderr
    assert str(home / "qdrant" / "nanoflux-math-all-minilm-l6-v2-int8") in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_input_is_one_line_and_exit_2(home, gsm8k):
    wrong_domain = nanoflux(
        home, "novelty", "seed", "--domain", "medicine", "--from", f"math:gsm8k:{gsm8k}"
    )
    assert wrong_domain.returncode == 2
    assert "is not of domain 'medicine'" in wrong_domain.stderr
    missing = nanoflux(home, "novelty", "seed", "--from", "math:gsm8k:/no/such/file.jsonl")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad_option = nanoflux(
        home, "novelty", "check", "--domain", "math", "--store-option", "quantization=int4", "x"
    )
    assert bad_option.returncode == 2
    assert "store_options.quantization" in bad_option.stderr
    assert not (home / "qdrant").exists() or not any((home / "qdrant").iterdir())


def test_settings_come_from_a_run_config(home, gsm8k, tmp_path):
    store_path = tmp_path / "elsewhere"
    config = tmp_path / "run.toml"
    config.write_text(
        'domain = "math"\n'
        "[novelty]\n"
        "contamination_threshold = 0.99\n"
        f"store_options = {{ path = {json.dumps(str(store_path))} }}\n",
        "utf-8",
    )
    seeded = nanoflux(
        home, "novelty", "seed", "--config", str(config), "--from", f"math:gsm8k:{gsm8k}"
    )
    assert seeded.returncode == 0, seeded.stderr
    assert (store_path / "nanoflux-math-all-minilm-l6-v2-int8").is_dir()
    report = json.loads(
        nanoflux(
            home, "novelty", "check", "--config", str(config), "--json", NATALIA_REWORDED
        ).stdout
    )
    assert report["count"] == 3
    assert report["thresholds"]["contaminated"] == 0.99
    assert report["verdict"] == "novel"
