"""The payoff experiment (examples/payoff-gsm8k.toml) in the shape it ships, with scripted
roles and the tiny model: killed with SIGKILL during generation, during a training and
during an evaluation, resumed each time, it redoes no finished work and ends with the four
models, their intervals, validity flags and paired tests.

The shipped file is read and only what a test cannot run is changed: the roles, the
model, the sizes; its GSM8K folder is moved by NANOFLUX_DATA_GSM8K, as a user would."""

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from nanoflux.cli import make_cli
from nanoflux.config import DEFAULT_DEFENDER
from nanoflux.evaluation import PARTIAL_FILE
from nanoflux.pipeline import Pipeline, load_pipeline_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "payoff-gsm8k.toml"

# Every role, by the round its request's seed names (nanoflux.engine.round: seed 0 gives
# round r the seed 10 r, plus multiples of 1_000_003 for later samples and attempts): the
# Attacker writes round r's question and program, the Defender misses by one, the Judge
# solves it blind and scores it. A resumed run asks for the rounds it has not played.
ROLES = """
import os

from nanoflux.default_plugins.scripted import (
    attacking, defender_reply, judge_reply, program_reply, solving_blind,
)

THINGS = ["apples", "bolts", "cards", "drums", "eggs", "flags", "gears", "hats", "inks", "jars"]
PLACES = ["barn", "attic", "garage", "harbor", "kiosk", "lab", "mill", "pier", "shed", "tower"]


def round_of(request):
    return (request.seed or 0) % 1_000_003 // 10


def truth(n):
    return (3 + n) * (4 + 2 * n) + n


def model(request):
    n = round_of(request)
    if attacking(request):
        with open(os.environ["ATTACKS"], "a") as log:
            log.write(f"{n}\\n")
        a, b = 3 + n, 4 + 2 * n
        return program_reply(
            f"A {PLACES[n % 10]} holds {a} crates with {b} {THINGS[n % 10]} each, and {n} "
            f"loose {THINGS[n % 10]}. How many {THINGS[n % 10]} are in the {PLACES[n % 10]}?",
            f"def solution():\\n    crates = {a} * {b}\\n    total = crates + {n}\\n"
            "    return total\\n",
        )
    a, b = 3 + n, 4 + 2 * n
    if request.json_schema is None:
        if solving_blind(request):
            worked = f"Crates times each, plus the loose: {a} * {b} + {n} = {truth(n)}"
            return defender_reply(str(truth(n)), worked)
        return defender_reply(str(truth(n) + 1), "I counted.")
    return judge_reply(reasoning_quality=4, rationale="Each step follows.")
"""

TARGET = 6
EVAL_ITEMS = 8
SPLIT, FULL = 300, 200  # GSM8K train's stand-in, and full's random part of it


def gsm8k_split(path: Path, count: int, offset: int) -> None:
    rows = [
        {
            "question": f"Mia has {i} bags of {i + 2} marbles. How many marbles?",
            "answer": f"Each bag holds {i + 2}, so {i} * {i + 2} = {i * (i + 2)}.\n"
            f"#### {i * (i + 2)}",
        }
        for i in range(offset, offset + count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def novelty_settings(tmp_path: Path):
    """The run's novelty store, kept in a file so that a test can open it afterwards."""
    from nanoflux.config import NoveltySettings

    options = {"path": str(tmp_path / "novelty")}
    return NoveltySettings(embedder="hashing", store="memory", store_options=options)


def payoff_config(tmp_path: Path, tiny_model: Path) -> Path:
    """The shipped experiment with scripted roles, the tiny model and small sizes."""
    config = tomllib.loads(EXAMPLE.read_text())
    roles = "scripted:payoff_roles:model"
    config["out"] = str(tmp_path / "pipe")
    config["run"] |= {
        "target": TARGET,
        "attacker": {"spec": roles, "options": {"latency": 0.25}},
        "defender": {"spec": roles},
        "judge": {"spec": roles},
        "novelty": novelty_settings(tmp_path).model_dump(mode="json"),
        "budget": {"max_rounds": 3 * TARGET},
    }
    # the same steps as shipped, in one padded batch each: the tiny model's passes cost
    # little, and four times as many of them wait four times as often on a busy machine
    config["train"] |= {
        "model": f"hf:{tiny_model}",
        "rank": 4,
        "alpha": 8,
        "max_length": 128,
        "batch_size": 4,
        "gradient_accumulation": 1,
    }
    config["baseline"] |= {"sample": FULL}
    config["eval"] |= {"limit": EVAL_ITEMS, "max_tokens": 32}
    # the tiny model is a transformers folder, which llama.cpp does not serve: every model
    # is evaluated through the trainer's own hf: specs
    del config["eval"]["serve"]
    path = tmp_path / "payoff.toml"
    path.write_text(tomli_w.dumps(config))
    return path


@pytest.fixture
def env(tmp_path):
    data = tmp_path / "gsm8k"
    data.mkdir()
    gsm8k_split(data / "train.jsonl", SPLIT, offset=100)
    gsm8k_split(data / "dev.jsonl", 20, offset=0)
    (tmp_path / "payoff_roles.py").write_text(ROLES)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "NANOFLUX_HOME": str(tmp_path / "home"),
        "NANOFLUX_DATA_GSM8K": str(data),
        "ATTACKS": str(tmp_path / "attacks.log"),
    }


def lines(path: Path) -> list[str]:
    """The whole lines of a file being appended to (a line cut by a kill is not one)."""
    if not path.is_file():
        return []
    text = path.read_text()
    return text.splitlines()[: text.count("\n")]


def run_until(argv, env, ready, what: str) -> None:
    """Start the pipeline, SIGKILL it the moment ``ready()`` holds."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"the pipeline ended before {what}: {process.stderr.read().decode()}")
        assert time.monotonic() < deadline, f"the pipeline never reached {what}"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()


def test_the_payoff_pipeline_killed_at_every_stage_redoes_nothing_finished(
    tmp_path, tiny_model, env
):
    config = payoff_config(tmp_path, tiny_model)
    pipe = tmp_path / "pipe"
    stages = pipe / "stages"
    argv = [sys.executable, "-m", "nanoflux", "pipeline", str(config)]

    # 1. killed while generating: some rounds played, the run not finished
    candidates = pipe / "run" / "candidates.jsonl"
    run_until(argv, env, lambda: len(lines(candidates)) >= 2, "generation")
    assert not (stages / "run.json").exists()
    played = lines(candidates)
    assert 2 <= len(played) < TARGET

    # 2. killed while training full (nanoflux-N and random-N finished before it)
    full_log = pipe / "baseline_train" / "train_log.jsonl"
    run_until(argv, env, lambda: len(lines(full_log)) >= 1, "the full training")
    assert not (stages / "baseline_train.json").exists()
    assert lines(candidates)[: len(played)] == played  # the rounds played were kept
    finished = {s: (stages / f"{s}.json").read_bytes() for s in ("run", "train", "control_train")}
    adapters = {
        s: (pipe / s / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
        for s in ("train", "control_train")
    }
    attacks = Path(env["ATTACKS"]).read_text().split()
    # each round was asked once, bar the one the first kill cut short
    assert len(attacks) - len(set(attacks)) <= 1

    # 3. killed while evaluating the base model
    partial = pipe / "eval" / "base" / PARTIAL_FILE
    run_until(argv, env, lambda: len(lines(partial)) >= 2, "the base evaluation")
    assert not (stages / "eval_base.json").exists()
    answered = [json.loads(line) for line in lines(partial)]
    assert 2 <= len(answered) < EVAL_ITEMS
    finished["baseline_train"] = (stages / "baseline_train.json").read_bytes()

    # 4. resumed to the end
    last = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
    assert last.returncode == 0, last.stderr
    for stage, marker in finished.items():
        assert (stages / f"{stage}.json").read_bytes() == marker, f"{stage} was done again"
        assert "source" in json.loads(marker)  # the code that finished it
    for stage, stamp in adapters.items():
        assert (pipe / stage / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == stamp
    assert f"resuming, {len(answered)} of {EVAL_ITEMS} items already answered" in last.stderr
    items = [json.loads(line) for line in (pipe / "eval" / "base" / "items.jsonl").open()]
    assert items[: len(answered)] == answered  # not asked again: the same records
    assert Path(env["ATTACKS"]).read_text().split() == attacks  # no round played again

    summary = json.loads((pipe / "pipeline.json").read_text())
    assert summary["stages"] == {
        "run": "skipped",
        "train": "skipped",
        "control_train": "skipped",
        "baseline_train": "skipped",
        "eval_base": "ran",
        "eval_tuned": "ran",
        "eval_random": "ran",
        "eval_full": "ran",
    }
    check_results(pipe, summary, tiny_model)
    check_protected(tmp_path)


def check_protected(tmp_path: Path) -> None:
    """Before the run, the pipeline stored every dev item (not only the [eval] limit's)
    as protected in the run's novelty store: a look-alike of one is `contaminated`."""
    from nanoflux.engine.gate import OpenGate
    from nanoflux.plugins import PluginHost

    with OpenGate(PluginHost.load(), novelty_settings(tmp_path), "math") as opened:
        protected = opened.store.ids(opened.gate.collection, run_id="benchmark:gsm8k")
        assert len(protected) == 20
        copy = "Mia has 7 bags of 9 marbles. How many marbles?"  # dev item 7
        assert opened.gate.check(copy).verdict == "contaminated"


def check_results(pipe: Path, summary: dict, tiny_model: Path) -> None:
    """Four models on the same items with intervals and validity; the paired tests;
    compute; adapters named by a spec that loads; the tables and the report."""
    models = summary["models"]
    assert [m["name"] for m in models.values()] == [
        "base",
        f"nanoflux-{TARGET}",
        f"random-{TARGET}",
        f"full-{FULL}",
    ]
    for row in models.values():
        low, high = row["ci95"]
        assert row["n"] == EVAL_ITEMS and low <= row["accuracy"] <= high
        assert set(row["validity"]) >= {"malformed_share", "truncated_share", "degenerate"}
    # random-N: as many items as nanoflux-N, drawn from the split, trained alike
    drawn = json.loads((pipe / "control_train" / "drawn.json").read_text())
    assert len(drawn["items"]) == TARGET and drawn["split_items"] == SPLIT
    tuned_config = json.loads((pipe / "train" / "train_config.json").read_text())
    random_config = json.loads((pipe / "control_train" / "train_config.json").read_text())
    assert tuned_config["options"] == random_config["options"]
    assert models["tuned"]["training"]["steps"] == models["random"]["training"]["steps"]
    assert tuned_config["chat_template"] == "own"

    comparisons = {c["label"]: c for c in summary["comparisons"]}
    assert {"tuned vs base", "tuned vs random", "full vs base"} <= set(comparisons)
    assert comparisons["tuned vs random"]["title"] == f"nanoflux-{TARGET} vs random-{TARGET}"
    for c in comparisons.values():
        assert c["n"] == EVAL_ITEMS and 0 <= c["p_value"] <= 1
        assert c["delta_ci95"][0] <= c["delta"] <= c["delta_ci95"][1]

    compute = summary["compute"]
    full, tuned = compute["baseline_train"], compute["train"]
    assert full["examples"] == FULL and full["split_items"] == SPLIT
    assert full["tokens_whole_split_estimate"] == round(full["tokens_seen"] * SPLIT / FULL)
    assert compute["tokens_ratio_full_over_tuned"] == pytest.approx(
        full["tokens_seen"] / tuned["tokens_seen"]
    )
    assert compute["seconds_ratio_full_over_tuned"] > 0 and compute["generation"]["seconds"] > 0

    # each adapter is named by a spec that opens it: hf:BASE+ADAPTER
    spec = models["tuned"]["spec"]
    assert spec == f"hf:{tiny_model}+{pipe.resolve() / 'train' / 'adapter'}"
    from nanoflux_peft.models import parse_ref

    assert parse_ref(spec).adapter == pipe.resolve() / "train" / "adapter"

    table = (pipe / "results.md").read_text()
    assert f"| nanoflux-{TARGET} vs random-{TARGET} |" in table
    assert f"| full-{FULL} |" in table and "95% CI (Wilson)" in table and "McNemar" in table
    from nanoflux.plugins import PluginHost

    shown = CliRunner().invoke(make_cli(PluginHost.load), ["report", str(pipe)])
    assert shown.exit_code == 0, shown.output
    assert table.strip() in shown.output
    page = (pipe / "report.html").read_text()
    assert "<h2>Results</h2>" in page and "results.png" in page


# -- the shipped file, its data folder, GSM-Hard -----------------------------------------


def test_the_shipped_payoff_config_names_this_project_s_data(monkeypatch):
    monkeypatch.delenv("NANOFLUX_DATA_GSM8K", raising=False)
    monkeypatch.chdir(EXAMPLE.parents[1])  # it is run from the repository root
    config = load_pipeline_config(EXAMPLE)
    assert config.eval.benchmark == "math:gsm8k:../shared/data/gsm8k/dev.jsonl"
    assert config.eval.protocol == "cot" and config.eval.limit is None
    assert config.control.benchmark == config.baseline.benchmark
    assert config.baseline.benchmark.endswith("/gsm8k/train.jsonl")
    assert config.train.model == "hf:qwen2.5-coder-0.5b"
    assert config.run.defender.spec == DEFAULT_DEFENDER  # the default roster
    # every model is evaluated on the weights [train] trains, served by llama.cpp
    assert config.eval.serve == "llamacpp-server:qwen2.5-coder-0.5b"
    # the experiment's own novelty store, with the dev items protected in it
    assert config.eval.protect
    assert config.run.novelty.store_options["path"].startswith(f"{config.out}/")
    monkeypatch.setenv("NANOFLUX_DATA_GSM8K", "/data/gsm8k/")
    moved = load_pipeline_config(EXAMPLE)
    assert moved.eval.benchmark == "math:gsm8k:/data/gsm8k/dev.jsonl"


def test_a_data_folder_the_config_does_not_name_is_one_line(tmp_path):
    from nanoflux.errors import ConfigError

    text = EXAMPLE.read_text().replace("{gsm8k}/dev.jsonl", "{gsm_8k}/dev.jsonl")
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"eval\.benchmark: \{gsm_8k\} names no \[data\] folder"):
        load_pipeline_config(tmp_path / "p.toml")


GSM_HARD_SOLVER = """
def reply(request):
    # GSM-Hard's question with larger numbers: 1234567 * 3, the answer from its target
    return "It is 1234567 * 3.\\nFinal answer: 3703701"
"""


def test_the_pipeline_evaluates_gsm_hard(tmp_path, monkeypatch):
    """GSM-Hard, as its release ships it (input, target, code), is a benchmark the
    pipeline's evaluation reads; the file here is made up, the format is the real one."""
    from nanoflux.plugins import PluginHost

    hard = tmp_path / "gsmhard.jsonl"
    row = {
        "input": "A farm has 1234567 rows of 3 trees. How many trees?",
        "target": 3703701.0,
        "code": "def solution():\n    return 1234567 * 3\n",
    }
    hard.write_text(json.dumps(row) + "\n" + json.dumps(row | {"target": 5}) + "\n")
    (tmp_path / "gsm_hard_solver.py").write_text(GSM_HARD_SOLVER)
    monkeypatch.syspath_prepend(str(tmp_path))
    text = EXAMPLE.read_text().replace("math:gsm8k:{gsm8k}/dev.jsonl", f"math:gsm-hard:{hard}")
    (tmp_path / "p.toml").write_text(text)
    config = load_pipeline_config(tmp_path / "p.toml")
    pipeline = Pipeline(config, tmp_path / "pipe", PluginHost.load(allow=["math"]))
    assert [item.id for item in pipeline.harness.items] == [
        "gsm-hard-gsmhard-1",
        "gsm-hard-gsmhard-2",
    ]
    result = pipeline._evaluate("eval_base", "scripted:gsm_hard_solver:reply", "")
    assert result.summary.protocol.name == "cot"
    assert [r.correct for r in result.items] == [True, False]
    assert (tmp_path / "pipe" / "stages" / "eval_base.json").is_file()


# -- evaluated through llama.cpp: [eval] serve ----------------------------------------------


def test_the_payoff_served_by_llama_cpp_evaluates_each_adapter_on_the_trained_weights(
    tmp_path, tiny_model, env
):
    """As shipped, every model answers through llama-server: the base as SERVE, the tuned
    one as SERVE+ADAPTER, its LoRA converted to GGUF. Here the bundled SmolLM2 GGUF
    (hf:default trains on it dequantised; llamacpp-server:smollm2-135m serves it)."""
    config = tomllib.loads(payoff_config(tmp_path, tiny_model).read_text())
    del config["control"], config["baseline"]
    config["run"] |= {"target": 2, "budget": {"max_rounds": 6}}
    config["train"] |= {"model": "hf:default", "epochs": 1, "max_length": 96}
    config["eval"] |= {"limit": 3, "max_tokens": 12, "concurrency": 2}
    config["eval"]["serve"] = "llamacpp-server:smollm2-135m"
    path = tmp_path / "served.toml"
    path.write_text(tomli_w.dumps(config))
    argv = [sys.executable, "-m", "nanoflux", "pipeline", str(path)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    pipe = tmp_path / "pipe"
    summary = json.loads((pipe / "pipeline.json").read_text())
    adapter = pipe.resolve() / "train" / "adapter"
    models = summary["models"]
    assert models["base"]["spec"] == "llamacpp-server:smollm2-135m"
    assert models["tuned"]["spec"] == f"llamacpp-server:smollm2-135m+{adapter}"
    assert (adapter / "llamacpp-lora.gguf").is_file()  # converted once, beside the adapter
    assert models["tuned"]["training"]["tuned_spec"] == f"hf:default+{adapter}"
    assert all(row["n"] == 3 for row in models.values())
