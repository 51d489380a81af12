"""Bad input ends in one line and exit 1 or 2: never a traceback, never a hang.

Hypothesis feeds random bytes, random JSON and TOML shapes, and records of each
benchmark format with random field values to every reader of a user file, and random
text to ``tools call --args``, through the real command group in this process (a
subprocess per case would allow a few dozen cases a minute). The nastiest inputs
(binary, not UTF-8, 100,000 levels deep, a 5,000-digit integer, a folder, a pipe, a
read-only filesystem) also go through ``nanoflux`` in a subprocess, as a person runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
import traceback
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nanoflux.cli import make_cli
from nanoflux.config import load_config
from nanoflux.errors import ConfigError
from nanoflux.inputs import settle
from nanoflux.plugins import PluginHost

PACKS = "math,genomics,medicine"
# a novelty gate that needs no model: `novelty stats/check --config` read a run config
CHEAP_GATE = ["--embedder", "hashing", "--store", "memory", "--domain", "math"]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# -- what a person might hand us ----------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
HUGE_INT = "9" * 5000
any_text = st.text(alphabet=st.characters(codec=None), max_size=40)  # lone surrogates too
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | any_text
    | st.sampled_from(["#### 4", "\\boxed{3}", "<answer>b</answer>", "a. x b. y", "A", "1", "yes"])
)
shapes = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
# depths around the readers' limit of 100, and far past what Python's parsers recurse to
depths = st.sampled_from([99, 100, 101, 150, 5000])


@st.composite
def json_documents(draw, record: st.SearchStrategy | None = None) -> bytes:
    kind = draw(st.sampled_from(["bytes", "shape", "record", "record", "record", "deep", "nasty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth, inner = draw(depths), draw(st.sampled_from(["1", HUGE_INT, '"\\ud800"']))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"question":', "}")]))
        return (opener * depth + inner + closer * depth).encode()
    if kind == "nasty":
        return draw(
            st.sampled_from(
                [b"", b"\xef\xbb\xbf{}", HUGE_INT.encode(), b"NaN", b'"\\udfff"', b"\x00" * 9]
            )
        )
    value = draw(record if kind == "record" and record is not None else shapes)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


@st.composite
def jsonl_documents(draw, record: st.SearchStrategy | None = None) -> bytes:
    lines = draw(st.lists(json_documents(record), min_size=1, max_size=4))
    return b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n"


def records(**fields: st.SearchStrategy) -> st.SearchStrategy:
    """Objects with a format's own keys (all, or some), each value of the expected kind
    or anything: most get past the parser into the reader's own checks."""
    values = {key: value | shapes for key, value in fields.items()}
    return st.fixed_dictionaries(values) | st.fixed_dictionaries({}, optional=values)


text_value = st.sampled_from(["What is 2+2?", "#### 4", "\\boxed{3}", "<answer>b</answer>"])
letters = st.sampled_from(["A", "B", "e", "Z", ""])
FORMATS = {
    "math:gsm8k": (".jsonl", records(question=text_value, answer=text_value)),
    "math:gsm-hard": (
        ".jsonl",
        records(input=text_value, target=st.integers() | st.just(HUGE_INT), code=text_value),
    ),
    "math:math": (".json", records(problem=text_value, solution=text_value, level=shapes)),
    "genomics:genome-bench": (
        ".jsonl",
        records(question=st.just("Which? a. x b. y c. z"), answer=text_value),
    ),
    "medicine:medqa": (
        ".jsonl",
        records(
            question=text_value,
            options=st.dictionaries(letters, shapes, max_size=5),
            answer_idx=letters,
        ),
    ),
    "medicine:medmcqa": (
        ".jsonl",
        records(
            question=text_value,
            opa=text_value,
            opb=text_value,
            opc=text_value,
            opd=text_value,
            cop=st.integers(-2, 5) | st.sampled_from(["3", "²", "٣", HUGE_INT]),
        ),
    ),
    "medicine:pubmedqa": (
        ".json",
        st.dictionaries(
            st.text(max_size=6),
            records(
                QUESTION=text_value,
                CONTEXTS=st.lists(shapes, max_size=3),
                final_decision=st.sampled_from(["yes", "no", "maybe", "perhaps"]),
            ),
            max_size=3,
        ),
    ),
}


@st.composite
def benchmark_files(draw) -> tuple[str, str, bytes]:
    spec = draw(st.sampled_from(sorted(FORMATS)))
    suffix, record = FORMATS[spec]
    if spec == "math:math" and draw(st.booleans()):
        suffix = ".jsonl"
    documents = jsonl_documents if suffix == ".jsonl" else json_documents
    return spec, suffix, draw(documents(record))


def toml_documents() -> st.SearchStrategy[bytes]:
    toml_leaves = st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    tables = st.recursive(
        st.dictionaries(st.text(max_size=8), toml_leaves, max_size=4),
        lambda inner: st.dictionaries(st.text(max_size=8), inner | toml_leaves, max_size=4),
        max_leaves=10,
    )
    config_like = st.fixed_dictionaries(
        {},
        optional={
            "domain": st.text(max_size=8) | st.integers(),
            "target": st.integers() | st.text(max_size=4),
            "lanes": st.integers(),
            "budget": st.integers() | tables,
            "attacker": st.text(max_size=12) | tables,
            "novelty": tables,
            "acceptance": tables,
            "prompts": st.dictionaries(st.sampled_from(["attacker", "x"]), st.text(max_size=12)),
        },
    )
    deep = depths.map(lambda d: f"a = {'[' * d}1{']' * d}\n".encode())
    return (
        st.binary(max_size=200)
        | tables.map(lambda t: tomli_w.dumps(t).encode())
        | config_like.map(lambda t: tomli_w.dumps(t).encode())
        | deep
        | st.sampled_from([b"a = " + HUGE_INT.encode(), b"x = 1\x00", b"\xff\xfe a = 1"])
    )


# -- running the command group ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cli():
    return make_cli(PluginHost.load(allow=PACKS.split(",")))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad-inputs")


class Hang(Exception):
    pass


def _hang(signum, frame):
    raise Hang("no answer within 30 s")


def invoke(cli, args: list[str], stdin: bytes | None = None):
    """Run ``nanoflux ARGS`` in this process; fail on a traceback, a hang or a long message."""
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(30)
    try:
        result = CliRunner().invoke(cli, args, input=stdin, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"nanoflux {' '.join(args)[:200]} raised instead of one line:\n{trace}")
    if result.exit_code != 0:
        assert result.exit_code in (1, 2), result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[:2000]
    return result


@settings(FUZZ, max_examples=150)
@given(case=benchmark_files())
def test_benchmark_readers_answer_any_file_with_items_or_one_line(cli, scratch, case):
    spec, suffix, content = case
    path = scratch / f"bench{suffix}"
    path.write_bytes(content)
    result = invoke(cli, ["data", "inspect", f"{spec}:{path}", "--json"])
    if result.exit_code:
        assert str(path) in result.stderr


@FUZZ
@given(content=toml_documents())
def test_the_config_reader_answers_any_file_with_a_config_or_one_line(cli, scratch, content):
    path = scratch / "run.toml"
    path.write_bytes(content)
    result = invoke(cli, ["novelty", "stats", "--config", str(path), *CHEAP_GATE])
    if result.exit_code:
        assert str(path) in result.stderr


numbers = st.integers() | st.floats() | st.just(10**4000)
sequences = st.text(alphabet="ACGTN\ud800", max_size=30)
TOOL_ARGS = {
    "medicine.bmi": records(weight_kg=numbers, height_m=numbers),
    "genomics.gc_content": records(seq=sequences),
    "genomics.translate": records(seq=sequences, table=st.integers()),
}
tool_args = st.sampled_from(sorted(TOOL_ARGS)).flatmap(
    lambda tool: st.tuples(
        st.just(tool),
        json_documents(TOOL_ARGS[tool]).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    )
)


@FUZZ
@given(case=tool_args)
def test_tools_call_answers_any_args_with_a_result_or_one_line(cli, case):
    tool, args = case
    result = invoke(cli, ["tools", "call", tool, "--args", args])
    if result.exit_code:
        assert "--args" in result.stderr or tool in result.stderr
    else:
        assert set(json.loads(result.stdout)) >= {"ok", "value", "error"}


@settings(max_examples=15, deadline=None, database=None)
@given(stdin=st.binary(max_size=100) | st.just("é".encode("latin-1")))
def test_novelty_check_reads_any_standard_input(cli, stdin):
    invoke(cli, ["novelty", "check", "-", *CHEAP_GATE], stdin=stdin)


# -- dotted overrides and the run directory -------------------------------------------------


def test_a_role_given_as_a_string_is_its_spec_and_a_flag_replaces_it(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('attacker = "scripted:a.json"\n[defender]\nspec = "scripted:b.json"\n')
    assert load_config(path).attacker.spec == "scripted:a.json"
    config = load_config(path, {"attacker.spec": "scripted:c.json", "defender.spec": None})
    assert (config.attacker.spec, config.defender.spec) == ("scripted:c.json", "scripted:b.json")


def test_a_flag_meeting_a_scalar_in_the_file_is_one_line(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("budget = 5\n")
    with pytest.raises(ConfigError, match=r"budget is 5, not a table, so budget.max_rounds"):
        load_config(path, {"budget.max_rounds": 1})


# -- the real command, in a subprocess ---------------------------------------------------------


def nanoflux(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "NANOFLUX_LOAD_PLUGINS": PACKS}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "nanoflux", *args],
        capture_output=True,
        text=True,
        errors="replace",
        env=env,
        timeout=60,
    )


def one_line(done: subprocess.CompletedProcess, code: int, *mentions: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code and len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("Error: ")
    for mention in mentions:
        assert mention in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def nasty(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nasty")
    files = {
        "binary.jsonl": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)),
        "latin1.jsonl": '{"question": "Caf\xe9?", "answer": "#### 1"}\n'.encode("latin-1"),
        "deep.json": DEEP.encode(),
        "huge.jsonl": f'{{"input": "x", "target": {HUGE_INT}}}\n'.encode(),
        "latin1.toml": 'domain = "caf\xe9"\n'.encode("latin-1"),
        "deep.toml": f"a = {'[' * 100_000}{']' * 100_000}\n".encode(),
        "budget.toml": b"budget = 5\n",
        "attacker.toml": b"attacker = 5\n",
        "a-file": b"",
    }
    for name, content in files.items():
        (root / name).write_bytes(content)
    (root / "folder.toml").mkdir()
    (root / "math-folder").mkdir()
    (root / "math-folder" / "1.json").write_bytes(DEEP.encode())
    os.mkfifo(root / "pipe.jsonl")
    return {path.name: path for path in root.iterdir()}


CASES = {
    "binary benchmark": (("data", "inspect", "math:gsm8k:{binary.jsonl}"), 2, "binary"),
    "latin-1 benchmark": (("data", "inspect", "genomics:genome-bench:{latin1.jsonl}"), 2, ":1:"),
    "deep benchmark": (("data", "inspect", "medicine:pubmedqa:{deep.json}"), 2, "deep"),
    "huge integer": (("data", "inspect", "math:gsm-hard:{huge.jsonl}"), 2, ":1:"),
    "deep file in a folder": (("data", "inspect", "math:math:{math-folder}"), 2, "1.json"),
    "a pipe": (("data", "inspect", "math:gsm8k:{pipe.jsonl}"), 2, "pipe.jsonl"),
    "config is a folder": (("run", "--config", "{folder.toml}"), 2, "folder"),
    "config not UTF-8": (("run", "--config", "{latin1.toml}"), 2, "UTF-8"),
    "deep config": (("run", "--config", "{deep.toml}"), 2, "deep"),
    "flag meets a scalar": (("run", "--config", "{budget.toml}", "--max-rounds", "1"), 2, "budget"),
    "role meets a number": (("run", "--config", "{attacker.toml}", "--attacker", "x:y"), 2, "5"),
    "--out is a file": (("run", "--out", "{a-file}", "--max-rounds", "1"), 2, "--out"),
    # 50,000 levels: one argument may hold at most 128 KiB (MAX_ARG_STRLEN)
    "deep --args": (("tools", "call", "medicine.bmi", "--args", DEEP[50_000:-50_000]), 2, "--args"),
    "huge --args": (
        ("tools", "call", "medicine.bmi", "--args", f'{{"weight_kg": {HUGE_INT}}}'),
        2,
        "--args",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_nastiest_inputs_through_the_real_command(nasty, case):
    args, code, mention = CASES[case]
    filled = []
    for arg in args:
        for name, path in nasty.items():
            arg = arg.replace("{" + name + "}", str(path))
        filled.append(arg)
    line = one_line(nanoflux(*filled), code, mention)
    assert "Traceback" not in line


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap for a read-only bind")
def test_out_on_a_read_only_filesystem(tmp_path):
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    # everything as it is, but this folder mounted read-only: root cannot write there either
    prefix = ("bwrap", "--dev-bind", "/", "/", "--ro-bind", str(readonly), str(readonly))
    done = nanoflux("run", "--out", str(readonly / "run"), "--max-rounds", "1", prefix=prefix)
    one_line(done, 2, "--out", "not writable")
    assert not (readonly / "run").exists()


# -- a run's own files ---------------------------------------------------------------------

RUN_FILES = ("dataset.jsonl", "candidates.jsonl", "manifest.json", "stats.json", "config.toml")


@pytest.fixture(scope="module")
def finished_run(cli, tmp_path_factory) -> Path:
    """A real math run of one accepted example, its models scripted (tests/domain_round_models)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import domain_round_models

    host = PluginHost.load(allow=["math"])
    domain_round_models.QUESTION.clear()
    domain_round_models.QUESTION.update(host.domain("math").example_question().model_dump())
    domain_round_models.WRONG_ANSWER["value"] = "41"
    root = tmp_path_factory.mktemp("run-files")
    model = '{ spec = "scripted:domain_round_models:model" }'
    (root / "run.toml").write_text(
        f'domain = "math"\ntarget = 1\nattacker = {model}\ndefender = {model}\n'
        f"judge = {model}\n[budget]\nmax_rounds = 1\n[rounds]\nrepair = false\n"
        "[acceptance]\nhops_min = 1\nrequire_verified = false\nrequire_tool_verification = false\n"
        '[novelty]\nembedder = "hashing"\nstore = "memory"\n'
    )
    out = root / "run"
    result = invoke(cli, ["run", "--config", str(root / "run.toml"), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (out / "dataset.jsonl").read_text().count("\n") == 1
    return out


toml_values = (
    st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6), max_size=3)
)


def _mutated(draw, value: dict, values: st.SearchStrategy = shapes) -> dict:
    """``value`` with a key added or removed, or set to another shape."""
    if not value or draw(st.booleans()):
        return {**value, draw(any_text): draw(values)}
    key = draw(st.sampled_from(sorted(value)))
    if draw(st.booleans()):
        return {k: v for k, v in value.items() if k != key}
    return {**value, key: draw(values)}


@st.composite
def run_file_contents(draw, original: bytes, name: str) -> bytes:
    """What a careless person, a full disk or a bad editor may leave in a run's file."""
    kind = draw(st.sampled_from(["bytes", "document", "edited", "edited", "cut"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "cut":  # cut anywhere, or one byte changed
        at = draw(st.integers(0, max(len(original) - 1, 0)))
        if draw(st.booleans()):
            return original[:at]
        return original[:at] + bytes([draw(st.integers(0, 255))]) + original[at + 1 :]
    if name.endswith(".toml"):
        if kind == "document":
            return draw(toml_documents())
        table = _mutated(draw, tomllib.loads(original.decode()), toml_values)
        return tomli_w.dumps(settle(table, name)).encode()
    if name.endswith(".json"):
        if kind == "document":
            return draw(json_documents(st.just(json.loads(original))))
        return json.dumps(_mutated(draw, json.loads(original))).encode("utf-8", "surrogatepass")
    rows = original.splitlines(keepends=True)
    if kind == "document":
        return draw(jsonl_documents())
    at = draw(st.integers(0, len(rows)))
    line = json.dumps(_mutated(draw, json.loads(rows[min(at, len(rows) - 1)]))).encode(
        "utf-8", "surrogatepass"
    )
    edited = [*rows[:at], line.replace(b"\n", b" ") + b"\n", *rows[at + 1 :]]
    return b"".join(edited).removesuffix(b"\n") if draw(st.booleans()) else b"".join(edited)


RUN_COMMANDS = {
    "export": lambda run, scratch: ["export", str(run), "--to", str(scratch / "export.jsonl")],
    "report": lambda run, scratch: ["report", str(run), "--out", str(scratch / "report.html")],
    "resume": lambda run, scratch: ["run", "--resume", str(run), "--target", "1", "--quiet"],
}


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_a_damaged_run_file_is_one_line_for_export_report_and_resume(
    cli, scratch, finished_run, data
):
    name = data.draw(st.sampled_from(RUN_FILES), label="file")
    command = data.draw(st.sampled_from(sorted(RUN_COMMANDS)), label="command")
    original = (finished_run / name).read_bytes()
    content = data.draw(run_file_contents(original, name), label="content")
    run = scratch / "damaged-run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(finished_run, run)
    (run / name).write_bytes(content)
    result = invoke(cli, RUN_COMMANDS[command](run, scratch))
    if result.exit_code and name != "config.toml":  # a config may name a model not here
        assert f"{run}/" in result.stderr  # the damaged file, or one it disagrees with
    if not result.exit_code and command == "export" and name == "dataset.jsonl":
        # nothing silently skipped: every line exported, bar the start of one cut short
        *whole, last = content.split(b"\n")
        expected = sum(1 for line in whole if line.strip())
        if last.strip():
            assert last.startswith(b"{"), "a last line of garbage was skipped"
            try:
                expected += isinstance(json.loads(last), dict)
            except (ValueError, RecursionError):
                pass  # cut short by a kill: skipped until a resume drops it
        assert f"exported {expected} examples" in result.stdout


# -- other readers: options, reply files, prompt files, pipeline configs, report files ------

BAD_FILES = {
    "binary": bytes(range(256)),
    "latin-1": '{"a": "caf\xe9"}\n'.encode("latin-1"),
    "deep": DEEP.encode(),
    "huge integer": HUGE_INT.encode(),
}


def _run_toml(tmp_path, top: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(
        f'domain = "math"\n{top}\n[novelty]\nembedder = "hashing"\nstore = "memory"\n'
        "[budget]\nmax_rounds = 1\n"
    )
    return path


@pytest.mark.parametrize("value", [DEEP[90_000:-90_000], f"[{HUGE_INT}]", "{" * 200])
def test_an_option_value_that_is_json_too_deep_or_too_long_is_one_line(cli, value):
    result = invoke(cli, ["novelty", "stats", *CHEAP_GATE, "--store-option", f"path={value}"])
    if value.startswith("{"):  # not JSON at all: the text itself, as a path
        return
    assert result.exit_code == 2 and "--store-option path" in result.stderr


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_bad_scripted_reply_file_is_one_line(cli, tmp_path, kind, suffix):
    replies = tmp_path / f"replies{suffix}"
    replies.write_bytes(BAD_FILES[kind])
    config = _run_toml(tmp_path, f'attacker = {{ spec = "scripted:{replies}" }}')
    result = invoke(cli, ["run", "--config", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and str(replies) in result.stderr


@pytest.mark.parametrize("kind", ["binary", "latin-1"])
def test_a_bad_prompt_file_is_one_line(cli, tmp_path, kind):
    prompt = tmp_path / "attacker.txt"
    prompt.write_bytes(BAD_FILES[kind])
    scripted = '{ spec = "scripted:domain_round_models:model" }'
    config = _run_toml(
        tmp_path,
        f"attacker = {scripted}\ndefender = {scripted}\njudge = {scripted}\n"
        f'prompts = {{ attacker = "{prompt}" }}',
    )
    sys.path.insert(0, str(Path(__file__).parent))
    result = invoke(cli, ["run", "--config", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "prompts.attacker" in result.stderr
    assert str(prompt) in result.stderr


def test_a_mistyped_prompt_path_is_one_line_not_the_prompt_text(cli, tmp_path):
    # the attacker template needs no variable: the path itself was the Attacker's prompt
    scripted = '{ spec = "scripted:domain_round_models:model" }'
    config = _run_toml(
        tmp_path,
        f"attacker = {scripted}\ndefender = {scripted}\njudge = {scripted}\n"
        'prompts = { attacker = "prompts/my_atacker.txt" }',
    )
    sys.path.insert(0, str(Path(__file__).parent))
    result = invoke(cli, ["run", "--config", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "prompts.attacker: no such file" in result.stderr
    assert "prompts/my_atacker.txt" in result.stderr
    assert not (tmp_path / "run" / "candidates.jsonl").exists()


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_pipeline_config_is_one_line(cli, tmp_path, kind):
    path = tmp_path / "pipeline.toml"
    path.write_bytes(BAD_FILES[kind])
    result = invoke(cli, ["pipeline", str(path), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2 and str(path) in result.stderr


@pytest.mark.parametrize("name", ["summary.json", "train_result.json", "train_log.jsonl"])
@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_file_in_a_report_folder_is_one_line(cli, tmp_path, name, kind):
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "train_log.jsonl").write_text('{"step": 1, "loss": 2.0}\n')
    (folder / name).write_bytes(BAD_FILES[kind])
    result = invoke(cli, ["report", str(tmp_path), "--out", str(tmp_path / "report.html")])
    assert result.exit_code == 2 and str(folder / name) in result.stderr


def test_a_pack_installed_without_its_prompts_is_one_line(tmp_path, monkeypatch):
    """The package-data step forgotten: the prompts are not in the installed package."""
    from nanoflux.domains import PromptSet
    from nanoflux.errors import ConfigError

    package = tmp_path / "nanoflux_noprompts"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        PromptSet.from_package("nanoflux_noprompts")
    line = caught.value.one_line()
    assert "nanoflux_noprompts: no prompts/attacker.txt" in line
    assert "[tool.setuptools.package-data]" in line and "\n" not in line
