"""The pipeline end to end (scripted roles, the real engine, math domain, sandbox, LoRA on a
tiny model, evaluation, report), its resumption, and an ablation of the run it made."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nanoflux.cli import make_cli
from nanoflux.default_plugins.scripted import defender_reply, judge_reply
from nanoflux.errors import ConfigError
from nanoflux.pipeline import load_pipeline_config

THINGS = ["apples", "bolts", "cards", "drums", "eggs", "flags", "gears", "hats", "inks", "jars"]
PLACES = ["barn", "attic", "garage", "harbor", "kiosk", "lab", "mill", "pier", "shed", "tower"]
# (question, quality, hops) the scripted attacker and judge give attempt by attempt. Math
# is code-first: the program's value is the reference and its computing lines the hops.
# Round 5's program fails: no reference, so it is never defended nor judged (None), and
# the Attacker gets a repair turn, which mends it; round 6 then reaches the target. The
# Judge solves each defended question blind (reaching the reference), then scores it.
ATTEMPTS = [(0, 4.0, 2), (1, 3.0, 3), (2, 2.0, 4), (3, 4.2, 5), (4, 3.2, 2)]
ATTEMPTS += [(5, None, 3), (5, 3.4, 3), (6, 4.1, 6)]
UNVERIFIED = 5


def truth_of(n):
    return (3 + n) * (4 + 2 * n) + n


def attacker_reply(n, hops, *, broken_program=False):
    a, b = 3 + n, 4 + 2 * n
    steps = [f"    total = {a} * {b}"] + ["    total = total + 0"] * (hops - 2)
    return {
        "text": f"A {PLACES[n]} holds {a} crates with {b} {THINGS[n]} each, and {n} loose "
        f"{THINGS[n]}. How many {THINGS[n]} are in the {PLACES[n]} altogether?",
        "program": "def solution():\n"
        + "\n".join(steps)
        + f"\n    return total + {'loose' if broken_program else n}\n",
    }


def lines(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def gsm8k_file(path, count, offset=0):
    rows = []
    for i in range(offset, offset + count):
        rows.append(
            {
                "question": f"Mia has {i} bags of {i + 2} marbles. How many marbles?",
                "answer": f"{i} * {i + 2} = {i * (i + 2)}\n#### {i * (i + 2)}",
            }
        )
    return lines(path, rows)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "nanoflux-home"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("pipeline")


@pytest.fixture(scope="module")
def config_file(workdir, tiny_model):
    tmp_path = workdir
    attacker = [
        attacker_reply(n, hops, broken_program=number == UNVERIFIED)
        for number, (n, _, hops) in enumerate(ATTEMPTS)
    ]
    files = {
        "attacker": lines(tmp_path / "attacker.jsonl", attacker),
        "defender": lines(tmp_path / "defender.jsonl", [defender_reply("0", "guess")]),
        "judge": lines(
            tmp_path / "judge.jsonl",
            [
                reply
                for n, q, _ in ATTEMPTS
                if q is not None
                for reply in (
                    defender_reply(
                        str(truth_of(n)),
                        f"Solved it blind: {3 + n} * {4 + 2 * n} + {n} = {truth_of(n)}.",
                    ),
                    # a rationale that says what its score says (else it is inconsistent)
                    judge_reply(
                        reasoning_quality=q,
                        rationale="Each step follows." if q >= 3 else "The steps have gaps.",
                    ),
                )
            ],
        ),
        "test": gsm8k_file(tmp_path / "test.jsonl", 4),
        "train": gsm8k_file(tmp_path / "train.jsonl", 10, offset=20),
    }
    path = tmp_path / "pipeline.toml"
    path.write_text(f"""
out = "{tmp_path / "pipe"}"

[run]
domain = "math"
target = 7
alternate = false
attacker = {{ spec = "scripted:{files["attacker"]}" }}
defender = {{ spec = "scripted:{files["defender"]}" }}
judge = {{ spec = "scripted:{files["judge"]}" }}
novelty = {{ embedder = "hashing", store = "memory" }}
acceptance = {{ quality_min = 1.0, quality_max = 5.0 }}
budget = {{ max_rounds = 8 }}

[train]
model = "hf:{tiny_model}"
rank = 4
alpha = 8
batch_size = 2
max_length = 128
max_steps = 3

[eval]
benchmark = "math:gsm8k:{files["test"]}"
limit = 3
max_tokens = 24
format = "text"

[baseline]
benchmark = "math:gsm8k:{files["train"]}"
options = {{ max_steps = 5 }}
""")
    return path


def invoke(*args):
    from nanoflux.plugins import PluginHost

    cli = make_cli(PluginHost.load)
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def first_run(config_file):
    result = invoke("pipeline", config_file, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_pipeline_runs_every_stage_then_resumes(first_run, config_file, workdir):
    pipe = workdir / "pipe"
    summary = first_run
    assert summary["stages"] == dict.fromkeys(
        ["run", "train", "baseline_train", "eval_base", "eval_tuned", "eval_full"], "ran"
    )
    run = summary["run"]
    assert run["accepted"] == 7 and run["attempts"] == 8  # round 5's program fails
    candidates = [
        json.loads(line) for line in (pipe / "run" / "candidates.jsonl").read_text().splitlines()
    ]
    assert candidates[5]["reason"] == "unverified"
    assert (candidates[6]["turn"], candidates[6]["parent_id"]) == ("repair", "5.0")
    assert candidates[6]["decision"] == "accepted"
    # each accepted question was solved blind by the Judge, who reached its reference
    assert all(c["findings"]["judge_agrees"] for c in candidates if c["decision"] == "accepted")
    assert set(summary["accuracy"]) == {"base", "tuned", "full"}
    assert all(a["n"] == 3 for a in summary["accuracy"].values())
    assert {c["label"] for c in summary["comparisons"]} == {
        "tuned vs base",
        "full vs base",
        "tuned vs full",
    }
    compute = summary["compute"]
    assert compute["train"]["examples"] == 7 and compute["baseline_train"]["examples"] == 10
    assert compute["flops_ratio_full_over_tuned"] == pytest.approx(
        compute["baseline_train"]["flops_estimate"] / compute["train"]["flops_estimate"]
    )
    assert compute["generation"]["tokens"] > 0
    for stage in ("train", "baseline_train"):
        assert (pipe / stage / "adapter" / "adapter_config.json").is_file()
    for name in ("base", "tuned", "full"):
        assert len((pipe / "eval" / name / "items.jsonl").read_text().splitlines()) == 3
        summary_file = json.loads((pipe / "eval" / name / "summary.json").read_text())
        assert summary_file["answer_format"] == "text"
    page = (pipe / "report.html").read_text()
    assert "loss.png" in page and "accuracy.png" in page and "judge_scores.png" in page
    assert json.loads((pipe / "pipeline.json").read_text())["compute"] == compute

    adapter = (pipe / "train" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
    again = invoke("pipeline", config_file, "--json")
    assert again.exit_code == 0, again.output
    assert set(json.loads(again.stdout)["stages"].values()) == {"skipped"}
    assert (pipe / "train" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == adapter

    # a changed [eval] reruns the evaluations only
    config_file.write_text(config_file.read_text().replace("limit = 3", "limit = 2"))
    changed = json.loads(invoke("pipeline", config_file, "--json").stdout)
    assert changed["stages"]["train"] == "skipped" and changed["stages"]["run"] == "skipped"
    assert changed["stages"]["eval_tuned"] == "ran"
    assert changed["accuracy"]["tuned"]["n"] == 2

    config_file.write_text(config_file.read_text().replace("limit = 2", "limit = 3"))


def test_ablation_by_quality_and_hops(first_run, workdir, tiny_model):
    run = workdir / "pipe" / "run"
    bench = f"math:gsm8k:{workdir / 'test.jsonl'}"
    common = [
        "--benchmark",
        bench,
        "--model",
        f"hf:{tiny_model}",
        "--cap",
        "2",
        "--limit",
        "2",
        "--max-steps",
        "2",
        "--rank",
        "4",
        "--max-tokens",
        "16",
        "--json",
    ]
    result = invoke("ablate", run, "--by", "quality", *common)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {row["band"]: row for row in report["rows"]}
    # judge qualities 4.0 3.0 2.0 4.2 3.2 (unverified) 3.4 4.1
    assert [
        (b, rows[b]["eligible"], rows[b]["examples"]) for b in ("L1", "L2", "L3", "L4", "L5")
    ] == [("L1", 0, 0), ("L2", 1, 1), ("L3", 3, 2), ("L4", 3, 2), ("L5", 0, 0)]
    assert "accuracy" not in rows["L1"] and rows["L1"]["skipped"]
    for band in ("L2", "L3", "L4"):
        assert rows[band]["ci95"][0] <= rows[band]["accuracy"] <= rows[band]["ci95"][1]
        assert 0 <= rows[band]["p_value"] <= 1
        options = json.loads(
            (run / "ablation-quality" / f"band-{band}" / "train" / "train_config.json").read_text()
        )["options"]
        assert options["max_steps"] == 2 and options["rank"] == 4  # same options for every band
    assert report["base"]["n"] == 2
    out = run / "ablation-quality"
    assert (out / "ablation.png").read_bytes()[:4] == b"\x89PNG"
    assert "| L3 | 3 | 2 |" in (out / "ablation.md").read_text()
    # a second run reuses every finished band
    stamp = (out / "band-L3" / "train" / "train_result.json").stat().st_mtime_ns
    assert invoke("ablate", run, "--by", "quality", *common).exit_code == 0
    assert (out / "band-L3" / "train" / "train_result.json").stat().st_mtime_ns == stamp

    hops = json.loads(
        invoke("ablate", run, "--by", "hops", "--hop-bands", "2,3-4,5-9", *common).stdout
    )
    assert [(r["band"], r["eligible"]) for r in hops["rows"]] == [("2", 2), ("3-4", 3), ("5-9", 2)]

    missing = invoke(
        "ablate",
        run,
        "--by",
        "quality",
        "--benchmark",
        bench,
        "--model",
        f"hf:{workdir}/no-model",
        "--out",
        workdir / "x",
        "--json",
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output

    # the pipeline's report now shows the ablations too
    page = run.parent / "report.html"
    assert invoke("report", run.parent).exit_code == 0
    assert "Ablations" in page.read_text()


def test_stages_that_need_no_generation_run_alone_first(config_file, tmp_path):
    # --stage runs the named stages only: the full-benchmark training and its evaluation
    # need no generated data, so they can run before the generation (or on a GPU).
    out = tmp_path / "pipe"
    alone = invoke(
        "pipeline", config_file, "--out", out, "--stage", "eval_full", "--stage", "baseline_train"
    )
    assert alone.exit_code == 0, alone.output
    assert "baseline_train: ran" in alone.stdout and "eval_full: ran" in alone.stdout
    assert not (out / "run").exists()  # no round was played
    assert not (out / "pipeline.json").exists()
    stages = out / "stages"
    assert sorted(p.name for p in stages.iterdir()) == ["baseline_train.json", "eval_full.json"]
    finished = {p.name: p.read_bytes() for p in stages.iterdir()}

    # a stage that needs an unfinished one is refused in one line, and nothing starts
    refused = invoke("pipeline", config_file, "--out", out, "--stage", "eval_tuned")
    assert refused.exit_code != 0
    # (it needs train, which needs the run: the first unfinished stage is named)
    assert "stage eval_tuned needs run, which has not finished" in refused.stderr
    wrong = invoke("pipeline", config_file, "--out", out, "--stage", "control_train")
    assert "stage 'control_train': this config does not have it" in wrong.stderr
    assert "eval_full" in wrong.stderr  # the hint lists the config's stages
    typo = invoke("pipeline", config_file, "--out", out, "--stage", "eval-base")
    assert "stage 'eval-base': no stage of that name" in typo.stderr
    assert not (out / "run").exists()

    # the whole pipeline then skips what is finished and runs the rest
    whole = invoke("pipeline", config_file, "--out", out, "--json")
    assert whole.exit_code == 0, whole.output
    summary = json.loads(whole.stdout)
    assert summary["stages"] == {
        "run": "ran",
        "train": "ran",
        "eval_base": "ran",
        "eval_tuned": "ran",
        "baseline_train": "skipped",
        "eval_full": "skipped",
    }
    assert {p: (stages / p).read_bytes() for p in finished} == finished
    assert set(summary["accuracy"]) == {"base", "tuned", "full"}


def test_pipeline_config_errors_name_the_field(tmp_path, config_file):
    text = config_file.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("rank = 4", "rank = 0"))
    with pytest.raises(ConfigError, match=r"train\.rank"):
        load_pipeline_config(bad)
    bad.write_text(text.replace("[eval]", "[evaluation]"))
    with pytest.raises(ConfigError, match=r"missing \[eval\] table"):
        load_pipeline_config(bad)
    bad.write_text(text.replace("target = 7", "target = 7\nout = 'x'"))
    with pytest.raises(ConfigError, match=r"run\.out"):
        load_pipeline_config(bad)
    bad.write_text(text.replace("limit = 3", "limit = 3\nlimt = 4"))
    with pytest.raises(ConfigError, match=r"eval\.limt"):
        load_pipeline_config(bad)


@pytest.mark.parametrize(
    ("eval_line", "protocol"),
    [
        ('format = "text"', "text"),  # the old name of the key, read as protocol
        ("", "cot"),  # the default, as nanoflux eval's
        ('protocol = "json"', "json"),
        ('format = "text"\nprotocol = "cot"', r"eval: .*`protocol` only \(`format` is its old"),
        ('protocol = "cot-zero"', r"eval\.protocol: Input should be 'cot'"),
    ],
)
def test_the_eval_protocol_and_its_old_name_format(tmp_path, config_file, eval_line, protocol):
    config = tmp_path / "pipeline.toml"
    config.write_text(config_file.read_text().replace('format = "text"', eval_line))
    if protocol in ("text", "cot", "json"):
        assert load_pipeline_config(config).eval.protocol == protocol
    else:
        with pytest.raises(ConfigError, match=protocol):
            load_pipeline_config(config)


BASE_RESPONDER = """
import os, re, time


def reply(request):
    # Mia has i bags of i + 2 marbles: right on even i, one off on odd i; each call logged
    # and slow (the [eval] options reach every model: the hf one takes no latency)
    time.sleep(0.3)
    i = int(re.search(r"Mia has (\\d+) bags", request.messages[-1].content).group(1))
    with open(os.environ["BASE_CALLS"], "a") as log:
        log.write(f"{i}\\n")
    return f"Counting.\\nFinal answer: {i * (i + 2) + i % 2}"
"""


def test_a_pipeline_killed_mid_evaluation_resumes_without_asking_again(
    first_run, config_file, workdir, tmp_path
):
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from nanoflux.evaluation import PARTIAL_FILE, read_eval

    # the finished pipeline's run and trainings, evaluated now by a slow scripted base
    pipe = tmp_path / "pipe"
    shutil.copytree(workdir / "pipe", pipe)
    (tmp_path / "base_responder.py").write_text(BASE_RESPONDER)
    config = tmp_path / "pipeline.toml"
    text = config_file.read_text().replace(str(workdir / "pipe"), str(pipe))
    text = text.replace("limit = 3\n", "limit = 4\nconcurrency = 1\n")
    text = text.replace(
        'format = "text"',
        'format = "text"\nbase_model = "scripted:base_responder:reply"',
    )
    config.write_text(text.split("[baseline]")[0])
    calls = tmp_path / "calls.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "BASE_CALLS": str(calls),
    }
    argv = [sys.executable, "-m", "nanoflux", "pipeline", str(config)]
    first = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)
    partial = pipe / "eval" / "base" / PARTIAL_FILE
    deadline = time.monotonic() + 120
    while not (partial.is_file() and partial.read_bytes().count(b"\n") >= 1):
        assert first.poll() is None and time.monotonic() < deadline, "never reached eval_base"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    answered = partial.read_bytes().count(b"\n")
    assert 1 <= answered < 4 and read_eval(pipe / "eval" / "base") is None
    calls.unlink()

    second = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    summary = json.loads((pipe / "pipeline.json").read_text())
    assert summary["stages"]["run"] == summary["stages"]["train"] == "skipped"
    resumed = int(second.stderr.split("resuming, ")[1].split(" of")[0])
    assert resumed in (answered, answered + 1)  # the kill may cut the last line short
    assert len(calls.read_text().split()) == 4 - resumed  # only what was left was asked
    base, _ = read_eval(pipe / "eval" / "base")
    assert base.n == 4 and base.correct == 2 and base.protocol.name == "text"
    assert summary["accuracy"]["base"]["accuracy"] == 0.5
    assert summary["protocol"]["name"] == "text"
    # the tuned model's folder, written by the first pipeline for the old [eval], was
    # emptied and evaluated again on the 4 items
    assert summary["stages"]["eval_tuned"] == "ran" and summary["accuracy"]["tuned"]["n"] == 4
    assert {c["label"] for c in summary["comparisons"]} == {"tuned vs base"}


# -- the plugin README's examples --------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "plugins" / "nanoflux-peft" / "examples"


def test_example_pipeline_configs_validate():
    cpu = load_pipeline_config(EXAMPLES / "pipeline-cpu.toml")
    # the tiny bundled model in every role, not llamacpp:default (Qwen2.5-Coder-1.5B)
    assert cpu.train.model == "hf:default"
    roles = (cpu.run.attacker, cpu.run.defender, cpu.run.judge)
    assert {role.spec for role in roles} == {"llamacpp:smollm2-135m"}
    gpu = load_pipeline_config(EXAMPLES / "pipeline-gpu-4b.toml")
    assert gpu.baseline is not None and gpu.baseline.options == {"epochs": 1}
    readme = (EXAMPLES.parent / "README.md").read_text()
    snippet = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    example = (EXAMPLES / "pipeline-gpu-4b.toml").read_text()
    for line in snippet.splitlines():
        assert line.split("#")[0].strip() in example, line


def test_sample_benchmark_reads_as_gsm8k(tmp_path):
    import runpy

    from nanoflux.domains import load_benchmark
    from nanoflux.plugins import PluginHost

    script = runpy.run_path(str(EXAMPLES / "sample_benchmark.py"))
    script["main"](tmp_path)
    host = PluginHost.load(allow=["math"])
    for split, count in (("train", 200), ("test", 60)):
        items = load_benchmark(host, f"math:gsm8k:{tmp_path / split}.jsonl")
        assert len(items) == count and items[0].solution
        assert all(int(item.answer) >= 0 for item in items)


def test_a_tuned_hf_model_can_play_a_role_in_a_run(first_run, workdir, tiny_model, tmp_path):
    from nanoflux.config import validate_config
    from nanoflux.engine import run
    from nanoflux.plugins import PluginHost

    adapter = workdir / "pipe" / "train" / "adapter"
    config = validate_config(
        {
            "domain": "math",
            "target": 2,
            "alternate": False,
            "attacker": {"spec": f"scripted:{workdir / 'attacker.jsonl'}"},
            "defender": {"spec": f"hf:{tiny_model}+{adapter}", "options": {"max_tokens": 24}},
            "judge": {"spec": f"scripted:{workdir / 'judge.jsonl'}"},
            "novelty": {"embedder": "hashing", "store": "memory"},
            "acceptance": {"quality_min": 1.0, "quality_max": 5.0},
            "budget": {"max_rounds": 3},
            "out": str(tmp_path / "run"),
        }
    )
    result = run(config, PluginHost.load())
    stats = json.loads((result.out_dir / "stats.json").read_text())
    # the tuned model generated in the Defender's seat, once per round
    defender = stats["usage"]["defender"]
    assert defender["calls"] == 3 and defender["prompt_tokens"] > 0
    assert defender["completion_tokens"] > 0
    # A tiny random model writes no final answer in 24 tokens: each reply was read and
    # found cut off before one, which is no answer (not a wrong one). A reply it does
    # finish is read like any other.
    for line in (result.out_dir / "candidates.jsonl").read_text().splitlines():
        candidate = json.loads(line)
        assert candidate["answer"] or (
            candidate["reason"] == "malformed_defender"
            and "cut off at the token limit" in candidate["error"]
        ), candidate
