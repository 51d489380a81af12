"""Training and evaluation across packages: core's statistics and eval command, the peft
trainer and hf backend, the math domain's GSM8K loader and checker."""

import json

import pytest
from click.testing import CliRunner

from nanoflux import hookimpl
from nanoflux.cli import make_cli
from nanoflux.evaluation import (
    item_question,
    mcnemar_exact,
    paired_bootstrap,
    read_eval,
    wilson_interval,
)
from nanoflux.records import BenchmarkItem
from nanoflux.training import TRAIN_LOCK, benchmark_examples, read_examples

GSM8K = [
    ("Tom has 3 boxes of 4 pens. How many pens?", "3 boxes times 4 pens is 12.", "12"),
    ("A bus carries 20 people and 5 get off. How many remain?", "20 - 5 = 15.", "15"),
    ("Ann reads 7 pages a day for 3 days. How many pages?", "7 * 3 = 21.", "21"),
    ("There are 9 birds and 4 fly away. How many are left?", "9 - 4 = 5.", "5"),
    ("A pack has 6 eggs. How many eggs in 5 packs?", "6 * 5 = 30.", "30"),
    ("Sam had 50 dollars and spent 18. How much is left?", "50 - 18 = 32.", "32"),
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "nanoflux-home"))


@pytest.fixture
def gsm8k(tmp_path):
    path = tmp_path / "gsm8k_test.jsonl"
    path.write_text(
        "".join(json.dumps({"question": q, "answer": f"{s}\n#### {a}"}) + "\n" for q, s, a in GSM8K)
    )
    return path


def write_replies(path, replies):
    path.write_text("".join(json.dumps(r) + "\n" for r in replies))
    return f"scripted:{path}"


def invoke(*args):
    from nanoflux.plugins import PluginHost

    return CliRunner().invoke(make_cli(PluginHost.load), list(args), catch_exceptions=False)


# -- statistics against published values -----------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, score method
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(successes, n, low, high):
    interval = wilson_interval(successes, n)
    assert interval == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (0, 6, 2 / 2**6),  # every discordant pair one way: 2 * (1/2)^6
        (1, 7, 2 * (1 + 8) / 2**8),  # 2 * P(X <= 1), X ~ Bin(8, 1/2)
        (2, 10, 2 * (1 + 12 + 66) / 2**12),  # = 0.0386
        (5, 5, 1.0),
        (0, 0, 1.0),
        (25, 25, 1.0),
    ],
)
def test_exact_mcnemar(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)
    assert mcnemar_exact(c, b) == mcnemar_exact(b, c)


def test_paired_bootstrap():
    same = [True, False, True, True] * 10
    assert paired_bootstrap(same, same) == ((0.0, 0.0), 1.0)
    better = [True] * 30 + [False] * 10
    worse = [True] * 10 + [False] * 30
    (low, high), p = paired_bootstrap(better, worse)
    assert 0 < low < 0.5 < high <= 0.75 and p < 0.001
    (low, high), p = paired_bootstrap([True, False] * 5, [False, True] * 5)
    assert low < 0 < high and p > 0.5


# -- evaluation with scripted models on a GSM8K file ----------------------------------


def test_eval_with_a_baseline_reports_the_paired_test(gsm8k, tmp_path):
    # model: right on items 1, 2, 3, 5; item 4 unreadable; item 6 fails in the backend
    model = write_replies(
        tmp_path / "model.jsonl",
        [
            {"reasoning": "3*4", "final_answer": "12"},
            {"reasoning": "", "final_answer": "15"},
            {"reasoning": "", "final_answer": "21"},
            "I think it is five",
            {"reasoning": "", "final_answer": "30.0"},
            {"__error__": "timeout"},
        ],
    )
    # baseline: right on items 1 and 4 only
    baseline = write_replies(
        tmp_path / "baseline.jsonl",
        [
            {"final_answer": "12"},
            {"final_answer": "14"},
            {"final_answer": "20"},
            {"final_answer": "5"},
            {"final_answer": "31"},
            {"final_answer": "0"},
        ],
    )
    out = tmp_path / "eval"
    result = invoke(
        "eval",
        "--model",
        model,
        "--baseline",
        baseline,
        "--benchmark",
        f"math:gsm8k:{gsm8k}",
        "--protocol",
        "json",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 6 and data["correct"] == 4 and data["accuracy"] == pytest.approx(4 / 6)
    assert data["ci95"] == pytest.approx(list(wilson_interval(4, 6)))
    assert data["baseline_accuracy"] == pytest.approx(2 / 6)
    assert data["delta"] == pytest.approx(2 / 6)
    # discordant: model only on items 2, 3, 5; baseline only on item 4
    assert (data["model_only"], data["baseline_only"]) == (3, 1)
    assert data["p_value"] == pytest.approx(mcnemar_exact(1, 3)) == 0.625
    assert data["failures"] == {"malformed_output": 1, "timeout": 1}
    summary, items = read_eval(out / "model")
    assert [i.correct for i in items] == [True, True, True, False, True, False]
    assert items[3].cause == "malformed_output" and "five" in items[3].error
    assert items[5].cause == "timeout" and items[5].prediction is None
    assert items[0].reference == "12" and items[0].reasoning == "3*4"
    assert summary.benchmark == f"math:gsm8k:{gsm8k}"
    assert json.loads((out / "eval.json").read_text())["p_value"] == data["p_value"]

    human = invoke(
        "eval",
        "--model",
        model,
        "--benchmark",
        f"math:gsm8k:{gsm8k}",
        "--limit",
        "2",
        "--out",
        str(tmp_path / "e2"),
    )
    assert "1.000 (2/2), 95% CI [0.342, 1.000]" in human.output


def test_json_protocol_sends_the_question_and_the_answer_schema(gsm8k, tmp_path):
    from nanoflux.default_plugins.scripted import ScriptedBackend
    from nanoflux.evaluation import Harness
    from nanoflux.plugins import PluginHost
    from nanoflux.structured import ANSWER_SCHEMA

    backend = ScriptedBackend([{"reasoning": "3 * 4 = 12", "final_answer": "12"}])

    class FakeBackend:
        @staticmethod
        @hookimpl
        def register_backends(register):
            register("fake", lambda spec: backend)

    host = PluginHost.load(allow=["math"], extra=[("fake", FakeBackend)])
    harness = Harness.prepare(host, f"math:gsm8k:{gsm8k}", limit=2, protocol="json")
    summary, _ = harness.evaluate(tmp_path / "eval", "fake:x")
    request = backend.calls[0]
    assert request.json_schema == ANSWER_SCHEMA
    assert request.temperature == 0.0
    (message,) = request.messages
    assert message.content.count(GSM8K[0][0]) == 1 and '"final_answer"' in message.content
    assert summary.correct == 1 and summary.protocol.name == "json"


def test_text_format_asks_the_bare_question_and_reads_the_final_answer_line(gsm8k, tmp_path):
    replies = tmp_path / "text.jsonl"
    model = write_replies(
        replies,
        [
            "3 boxes of 4 is 12.\n\nFinal answer: 12",
            "Final answer: 14\nno wait.\nFinal answer: 15.",  # the last line counts
            "It is twenty-one.",  # no Final answer line
        ],
    )
    out = tmp_path / "text"
    result = invoke(
        "eval",
        "--model",
        model,
        "--benchmark",
        f"math:gsm8k:{gsm8k}",
        "--limit",
        "3",
        "--format",
        "text",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["correct"] == 2 and data["answer_format"] == "text"
    assert data["failures"] == {"malformed_output": 1}
    _, items = read_eval(out / "model")
    assert [i.prediction for i in items] == ["12", "15", None]
    assert "twenty-one" in items[2].reasoning


def test_final_answer_of():
    from nanoflux.evaluation import extract_answer, final_answer_of

    assert final_answer_of("steps\n\nFinal answer: 42") == "42"
    assert final_answer_of("Final answer: 1\nFinal answer: 2") == "2"
    assert final_answer_of("7 * 2 = 14\n#### 14\nThe answer is: 14") == "14"
    assert final_answer_of("the answer is 42") == "42"
    assert final_answer_of("Final answer: ") is None
    assert extract_answer("final ANSWER:  B.  ", numeric=False).answer == "B"


def test_bad_benchmark_specs_are_one_line_errors(gsm8k, tmp_path):
    for spec, message in [
        (f"math:nope:{gsm8k}", "has no benchmark format 'nope'"),
        ("math:gsm8k:/no/such.jsonl", "no such file or folder"),
        ("gsm8k.jsonl", "is not DOMAIN:FORMAT:PATH"),
    ]:
        result = invoke("eval", "--model", "scripted:x", "--benchmark", spec)
        assert result.exit_code == 2 and message in result.output


# -- training data and the train command ------------------------------------------------


def test_benchmark_items_become_examples_with_their_solution():
    items = [
        BenchmarkItem(id="a", question="Q?", answer="12", solution="3*4=12\n"),
        BenchmarkItem(id="b", question="Pick one", answer="B", choices=["x", "y"]),
    ]
    first, second = benchmark_examples(items)
    assert first["messages"] == [
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": "3*4=12\n\nFinal answer: 12"},
    ]
    assert second["messages"][0]["content"] == item_question(items[1]) == "Pick one\n\nA. x\nB. y"
    assert second["messages"][1]["content"] == "Final answer: B"
    # the typed field is the solution; what a loader keeps in meta is not read
    untyped = BenchmarkItem(id="c", question="Q?", answer="1", meta={"solution": "x"})
    assert benchmark_examples([untyped])[0]["messages"][1]["content"] == "Final answer: 1"


def test_train_on_a_run_dataset_and_on_a_benchmark(tiny_model, gsm8k, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "dataset.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": f"math-{i}",
                    "messages": [
                        {"role": "user", "content": q},
                        {"role": "assistant", "content": f"{s}\n\nFinal answer: {a}"},
                    ],
                    "metadata": {"level": "L4"},
                }
            )
            + "\n"
            for i, (q, s, a) in enumerate(GSM8K[:4])
        )
    )
    result = invoke(
        "train",
        str(run),
        "--model",
        f"hf:{tiny_model}",
        "--max-steps",
        "2",
        "--rank",
        "4",
        "--batch-size",
        "2",
        "--json",
    )
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["examples"] == 4 and trained["steps"] == 2
    assert trained["out_dir"] == str(run / "train")
    assert (run / "train" / "adapter" / "adapter_config.json").is_file()
    assert json.loads((run / "train" / "train_config.json").read_text())["options"]["rank"] == 4
    again = invoke("train", str(run), "--model", f"hf:{tiny_model}")
    assert again.exit_code == 2 and "already holds a finished training" in again.output

    full = invoke(
        "train",
        "--from-benchmark",
        f"math:gsm8k:{gsm8k}",
        "--model",
        f"hf:{tiny_model}",
        "--out",
        str(tmp_path / "full"),
        "--epochs",
        "1",
        "--batch-size",
        "3",
        "--json",
    )
    assert full.exit_code == 0, full.output
    full_result = json.loads(full.stdout)
    assert full_result["examples"] == 6 and full_result["steps"] == 2
    # compute is recorded, so the ratio between the two trainings can be reported
    assert full_result["tokens_seen"] > trained["tokens_seen"]
    assert full_result["flops_estimate"] / trained["flops_estimate"] == pytest.approx(
        full_result["tokens_seen"] / trained["tokens_seen"]
    )


def test_two_trainings_into_one_folder_at_once(tiny_model, gsm8k, tmp_path):
    # Another process trains into the folder (it holds its lock, as train_in does): this
    # one stops with one line naming the folder and the process, and writes nothing there.
    import subprocess
    import sys

    out = tmp_path / "full"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from nanoflux.storage import hold_exclusive;"
            f"hold_exclusive(Path({str(out / TRAIN_LOCK)!r}), 'x'); print('held', flush=True);"
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    args = ["train", "--from-benchmark", f"math:gsm8k:{gsm8k}", "--model", f"hf:{tiny_model}"]
    args += ["--out", str(out), "--max-steps", "1", "--rank", "4"]
    try:
        assert holder.stdout.readline() == "held\n"
        refused = invoke(*args)
        assert refused.exit_code == 2
        assert f"training folder {out} is in use by process {holder.pid}" in refused.output
        assert sorted(p.name for p in out.iterdir()) == [TRAIN_LOCK]
    finally:
        holder.communicate("")
    assert invoke(*args).exit_code == 0  # the folder is free once the other has finished
    assert (out / "train_result.json").is_file()


def test_train_rejects_bad_input(tiny_model, tmp_path):
    bad = tmp_path / "dataset.jsonl"
    bad.write_text('{"messages": []}\nnot json\n')
    result = invoke("train", str(bad), "--model", f"hf:{tiny_model}")
    assert result.exit_code == 2 and "dataset.jsonl:2: not valid JSON" in result.output
    result = invoke("train", str(tmp_path), "--model", f"hf:{tiny_model}", "--rank", "0")
    assert result.exit_code == 2 and "training option rank" in result.output
    result = invoke("train", "--model", f"hf:{tiny_model}")
    assert result.exit_code == 2 and "either DATASET or --from-benchmark" in result.output
    with pytest.raises(Exception, match="holds no examples"):
        (tmp_path / "empty.jsonl").write_text("\n")
        read_examples(tmp_path / "empty.jsonl")


# -- every backend through the same evaluation ----------------------------------------


@pytest.mark.slow
def test_eval_runs_hf_base_against_hf_tuned_and_llamacpp(tiny_model, gsm8k, tmp_path):
    train = invoke(
        "train",
        "--from-benchmark",
        f"math:gsm8k:{gsm8k}",
        "--model",
        f"hf:{tiny_model}",
        "--out",
        str(tmp_path / "t"),
        "--max-steps",
        "3",
        "--learning-rate",
        "0.01",
        "--json",
    )
    tuned = json.loads(train.stdout)["tuned_spec"]
    result = invoke(
        "eval",
        "--model",
        tuned,
        "--baseline",
        f"hf:{tiny_model}",
        "--benchmark",
        f"math:gsm8k:{gsm8k}",
        "--limit",
        "3",
        "--max-tokens",
        "24",
        # the json protocol: the hf backend guides decoding by the Answer schema (eval's
        # default, cot, is free text, which a random tiny model cannot be held to)
        "--protocol",
        "json",
        "--out",
        str(tmp_path / "e"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 3 and {"baseline_accuracy", "delta", "p_value", "ci95"} <= set(data)
    # The guided JSON always parses into an Answer: an item may still fail as malformed
    # when a random tiny model's final_answer holds no number, never for its JSON.
    for side in ("model", "baseline"):
        items = [json.loads(line) for line in (tmp_path / "e" / side / "items.jsonl").open()]
        assert len(items) == 3
        for item in items:
            assert item["extraction"] == "json" or item["error"].startswith(
                "final_answer holds no answer"
            ), item["error"]
    llama = invoke(
        "eval",
        "--model",
        "llamacpp:smollm2-135m",
        "--benchmark",
        f"math:gsm8k:{gsm8k}",
        "--limit",
        "2",
        "--max-tokens",
        "96",
        "--out",
        str(tmp_path / "l"),
        "--json",
    )
    assert llama.exit_code == 0, llama.output
    assert json.loads(llama.stdout)["n"] == 2


@pytest.mark.parametrize(("successes", "n"), [(0, 319), (319, 319), (0, 1), (7, 7)])
def test_a_wilson_interval_at_none_or_all_holds_the_accuracy_exactly(successes, n):
    low, high = wilson_interval(successes, n)
    assert low <= successes / n <= high
    assert (low == 0.0) if successes == 0 else (high == 1.0)
