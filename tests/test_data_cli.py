"""`nanoflux data inspect` on small files in the benchmarks' public formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def nanoflux(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NANOFLUX_LOAD_PLUGINS": "math,genomics,medicine"}
    return subprocess.run(
        [sys.executable, "-m", "nanoflux", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def gsm8k(tmp_path):
    path = tmp_path / "test.jsonl"
    rows = [
        {
            "question": "Natalia sold clips to 48 of her friends in April, and then she sold half "
            "as many clips in May. How many clips did Natalia sell altogether in April and May?",
            "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72",
        },
        {
            "question": "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 "
            "minutes of babysitting. How much did she earn?",
            "answer": "12/60*50 = 10\n#### 10",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def test_inspect_gsm8k_text(gsm8k):
    done = nanoflux("data", "inspect", f"math:gsm8k:{gsm8k}")
    assert done.returncode == 0, done.stderr
    assert "2 items" in done.stdout
    assert "question: Natalia sold clips" in done.stdout
    assert "answer: 72" in done.stdout


def test_inspect_json(gsm8k):
    done = nanoflux("data", "inspect", f"math:gsm8k:{gsm8k}", "--json")
    report = json.loads(done.stdout)
    assert report["count"] == 2
    assert report["first"]["answer"] == "72"
    assert report["first"]["choices"] is None


def test_inspect_multiple_choice(tmp_path):
    path = tmp_path / "dev.jsonl"
    row = {
        "question": "Which vitamin is supplied from only animal source?",
        "opa": "Vitamin C",
        "opb": "Vitamin B7",
        "opc": "Vitamin B12",
        "opd": "Vitamin D",
        "cop": 3,
    }
    path.write_text(json.dumps(row) + "\n", "utf-8")
    report = json.loads(nanoflux("data", "inspect", f"medicine:medmcqa:{path}", "--json").stdout)
    assert report["first"]["answer"] == "C"
    assert report["first"]["choices"][2] == "Vitamin B12"
    text = nanoflux("data", "inspect", f"medicine:medmcqa:{path}").stdout
    assert "C. Vitamin B12" in text


def test_malformed_file_names_file_and_line(tmp_path, gsm8k):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(gsm8k.read_text("utf-8") + '{"question": "q", "answer": "no marker"}\n')
    done = nanoflux("data", "inspect", f"math:gsm8k:{bad}")
    assert done.returncode == 2
    assert f"{bad}:3" in done.stderr and "####" in done.stderr


def test_inspect_a_gsm8k_line_whose_annotations_square_forty_times(tmp_path):
    # 1.3 kB: read as exact integers, 24 squarings took more than a minute; each step's
    # value is now bounded, and the item loads without a seed program
    steps = "First <<99999*99999=7>>7.\n" + "Then <<7*7=7>>7.\n" * 39
    path = tmp_path / "bomb.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": f"{steps}#### 7"}) + "\n", "utf-8")
    done = nanoflux("data", "inspect", f"math:gsm8k:{path}", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["count"], report["first"]["answer"], report["first"]["program"]) == (
        1,
        "7",
        None,
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("math:nosuchformat:x.jsonl", "formats of math: gsm-hard, gsm8k, math"),
        ("astrology:gsm8k:x.jsonl", "unknown domain"),
        ("math:gsm8k", "DOMAIN:FORMAT:PATH"),
        ("math:gsm8k:/nonexistent/file.jsonl", "no such file"),
    ],
)
def test_bad_specs_exit_two(spec, message):
    done = nanoflux("data", "inspect", spec)
    assert done.returncode == 2
    assert message in done.stderr
