"""The cross-check end to end on a handful of items with the bundled SmolLM2-135M: a real
llama_cpp.server, real lm-eval in its subprocess, NanoFlux through the same endpoint."""

import json

import pytest
from click.testing import CliRunner

from nanoflux.cli import make_cli

ITEMS = [
    ("Tom has 3 boxes of 4 pens. How many pens?", "12"),
    ("A bus carries 20 people and 5 get off. How many remain?", "15"),
    ("Ann reads 7 pages a day for 3 days. How many pages?", "21"),
]


@pytest.fixture
def benchmark(tmp_path):
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    (folder / "dev.jsonl").write_text(
        "".join(json.dumps({"question": q, "answer": f"x\n#### {a}"}) + "\n" for q, a in ITEMS)
    )
    (folder / "train.jsonl").write_text(
        json.dumps(
            {
                "question": "Sue has 2 cats and gets 3 more. How many?",
                "answer": "2 + 3 = 5.\n#### 5",
            }
        )
        + "\n"
    )
    return folder / "dev.jsonl"


def invoke(*args):
    from nanoflux.plugins import PluginHost

    return CliRunner().invoke(make_cli(PluginHost.load), list(args), catch_exceptions=False)


def test_crosscheck_runs_both_harnesses_on_the_same_items(benchmark, tmp_path):
    from nanoflux_openai.local_server import bundled_gguf

    out = tmp_path / "xcheck"
    result = invoke(
        "lmeval",
        "--model",
        f"llamacpp:{bundled_gguf()}",
        "--benchmark",
        f"math:gsm8k:{benchmark}",
        "--protocol",
        "cot-fewshot",
        "--shots",
        "1",
        "--max-tokens",
        "48",
        "--n-ctx",
        "1024",
        "--n-threads",
        "1",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    check = json.loads(result.stdout)
    assert check["n"] == 3
    assert set(check["lm_eval"]) == {"strict-match", "flexible-extract"}
    # both harnesses sent the same messages to one greedy server: the same replies
    assert check["same_replies"] == 3
    assert check["protocol"]["name"] == "cot-fewshot" and check["protocol"]["shots"] == 1
    # what lm-eval was asked is what NanoFlux asked
    rows = [json.loads(line) for line in (out / "task" / "items.jsonl").read_text().splitlines()]
    assert [r["target"] for r in rows] == ["12", "15", "21"]
    assert rows[0]["prompt"].startswith(ITEMS[0][0]) and "Final answer: X" in rows[0]["prompt"]
    shots = (out / "task" / "exemplars.jsonl").read_text()
    assert "2 + 3 = 5.\\n\\nFinal answer: 5" in shots
    # every disagreement is listed with both readings
    for name, score in check["lm_eval"].items():
        differing = check["disagreements"][name]
        assert abs(score["correct"] - check["nanoflux"]["correct"]) <= len(differing)
    assert (out / "nanoflux" / "items.jsonl").is_file() and (out / "crosscheck.json").is_file()


def test_json_protocol_and_unknown_specs_are_refused(benchmark, tmp_path):
    bad = invoke(
        "lmeval",
        "--model",
        "scripted:x",
        "--benchmark",
        f"math:gsm8k:{benchmark}",
        "--out",
        str(tmp_path / "o"),
    )
    assert bad.exit_code == 2 and "OpenAI-compatible endpoint" in bad.output
    json_protocol = invoke(
        "lmeval",
        "--model",
        "scripted:x",
        "--protocol",
        "json",
        "--benchmark",
        f"math:gsm8k:{benchmark}",
        "--out",
        str(tmp_path / "o"),
    )
    assert json_protocol.exit_code == 2


def test_a_model_path_the_filesystem_refuses_is_one_line(benchmark, tmp_path):
    result = invoke(
        "lmeval",
        "--model",
        "llamacpp:" + "x" * 5000 + ".gguf",
        "--benchmark",
        f"math:gsm8k:{benchmark}",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code != 0
    assert "unexpected" not in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 2, result.output
