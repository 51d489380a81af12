"""The run store: typed records, one process at a time, damage refused or repaired."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from test_engine import config
from test_resume import (  # noqa: F401 (fixture)
    cli_env,
    count_lines,
    lines,
    nanoflux,
    write_config,
)

from nanoflux.engine import run
from nanoflux.engine.export import export_dataset
from nanoflux.engine.run_store import RunStore, encode_line, read_records
from nanoflux.errors import ConfigError, DataFormatError, UsageError
from nanoflux.records import CANDIDATE_SCHEMA, Candidate, Example


def finished_run(tmp_path, arith_host, **overrides):
    return run(config(tmp_path, **overrides), arith_host).out_dir


def rewrite(path, edit):
    """Apply ``edit`` to the list of lines of ``path`` (each with its newline)."""
    kept = edit(path.read_text().splitlines(keepends=True))
    path.write_text("".join(kept))


def resume(out, arith_host, target):
    return run(config(out.parent, target=target), arith_host, resume=True)


# -- typed records ---------------------------------------------------------------------


def test_a_run_reads_back_as_typed_records(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=3)
    store = RunStore(out)
    candidates = list(store.candidates())
    assert all(isinstance(c, Candidate) for c in candidates)
    assert {c.schema_version for c in candidates} == {CANDIDATE_SCHEMA}
    assert [c.candidate_id for c in candidates] == [f"{c.round}.0" for c in candidates]
    assert {c.turn for c in candidates} == {"attack"} and all(
        c.parent_id is None for c in candidates
    )
    examples = list(store.examples())
    assert [e.id for e in examples] == [c.example_id for c in candidates if c.accepted]
    # the dataset line is exactly the example its candidate carries
    assert [e.as_dict() for e in examples] == lines(out / "dataset.jsonl")
    assert [c.example.as_dict() for c in candidates if c.accepted] == lines(out / "dataset.jsonl")
    assert json.loads((out / "manifest.json").read_text())["store_schema"] == CANDIDATE_SCHEMA


def test_an_unversioned_run_still_resumes(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    new_keys = ("schema_version", "candidate_id", "parent_id", "turn", "metadata")

    def as_version_one(rows):
        return [
            json.dumps({k: v for k, v in json.loads(r).items() if k not in new_keys}) + "\n"
            for r in rows
        ]

    rewrite(out / "candidates.jsonl", as_version_one)
    before = len(lines(out / "candidates.jsonl"))
    result = resume(out, arith_host, target=4)
    assert result.accepted == 4
    rows = lines(out / "candidates.jsonl")
    assert [r["round"] for r in rows] == list(range(len(rows)))
    assert all("schema_version" not in r for r in rows[:before])
    assert {r["schema_version"] for r in rows[before:]} == {CANDIDATE_SCHEMA}


def test_a_newer_schema_is_refused(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=1)
    rewrite(
        out / "candidates.jsonl",
        lambda rows: [json.dumps({**json.loads(r), "schema_version": 99}) + "\n" for r in rows],
    )
    with pytest.raises(DataFormatError, match=r"candidates.jsonl:1: schema_version 99 is newer"):
        resume(out, arith_host, target=2)


def test_a_lone_surrogate_is_written_as_valid_utf8():
    line = encode_line({"text": "bad \udc80 char"})
    assert json.loads(line.decode("utf-8"))["text"] == "bad \ufffd\ufffd\ufffd char"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02\xff\xfe\n", "binary data"),
        (b"\xc3\x28 caf\xe9\n", "not UTF-8"),
        (b"[1, 2, 3]\n", "expected a JSON object, found list"),
        (b'"text"\n', "expected a JSON object, found str"),
        (b'{"id": "a", "messages": [{"role": "user", "conte\n', "not valid JSON"),
        (b"[" * 100_000 + b"\n", "nested too deeply"),
        (b'{"id": "a", "messages": ' + b"9" * 5000 + b"}\n", "integer too long"),
        (b'{"id": 5, "messages": []}\n', ": id: "),
        # the same as a last line without its newline: damage, not a write cut short
        (b"\x7fELF\x02\x01\x01\x00" + bytes(range(1, 256)), "binary data"),
        (b"\xc3\x28 caf\xe9", "not UTF-8"),
        (b"[1, 2, 3", "not valid JSON"),
        (b"hello", "not valid JSON"),
        (b'{"id": "a", "messages": []}}', "not valid JSON"),
        (b'{"id": "a", "messages": [}', "not valid JSON"),
        (b'{"id": 5, "messages": []}', ": id: "),
    ],
)
def test_bad_lines_are_one_error_naming_file_and_line(tmp_path, content, message):
    path = tmp_path / "dataset.jsonl"
    path.write_bytes(b'{"id": "ok", "messages": []}\n' + content)
    with pytest.raises(DataFormatError, match=message) as caught:
        list(read_records(path, Example))
    assert f"{path}:2:" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "tail",
    [
        b"{",
        b'{"id": "b", "mess',
        b'{"id": "b", "messages": [',
        b'{"id": "b", "messages": [], "metadata": {"hops": 1',
        b'{"id": "b", "messages": [], "metadata": {"hops": 1.',
        b'{"id": "b", "messages": [], "metadata": {"verified": tr',
        b'{"id": "caf\xc3',  # cut inside a character
        b'{"id": "b\\',
    ],
)
def test_a_line_cut_short_by_a_kill_is_skipped_by_readers(tmp_path, tail):
    path = tmp_path / "dataset.jsonl"
    path.write_bytes(b'{"id": "ok", "messages": []}\n' + tail)
    assert [e.id for _, e in read_records(path, Example)] == ["ok"]


def test_a_whole_last_line_without_its_newline_is_read(tmp_path):
    path = tmp_path / "dataset.jsonl"
    path.write_bytes(b'{"id": "ok", "messages": []}\n{"id": "b", "messages": []}')
    assert [e.id for _, e in read_records(path, Example)] == ["ok", "b"]


@pytest.mark.parametrize("name", ["stats.json", "manifest.json"])
@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b"", b"[]", b'{"attempts": ', b"[" * 50_000])
def test_bad_json_files_are_one_error_naming_the_file(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataFormatError) as caught:
        RunStore(tmp_path).read_json(name)
    assert str(tmp_path / name) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [
        ("stats.json", b'{"seconds": "soon"}', "seconds"),
        ("stats.json", b'{"attempts": [1]}', "attempts"),
        ("manifest.json", b'{"resumed_at": 5}', "resumed_at"),
    ],
)
def test_json_files_of_the_wrong_shape_name_file_and_field(tmp_path, name, content, field):
    (tmp_path / name).write_bytes(content)
    store = RunStore(tmp_path)
    with pytest.raises(DataFormatError) as caught:
        store.stats() if name == "stats.json" else store.manifest()
    assert f"{tmp_path / name}: {field}:" in str(caught.value)


@pytest.mark.parametrize("content", [b"a = " + b"[" * 5000, b"\xff\xfe", b"target = -1\n"])
def test_bad_config_toml_is_one_error(tmp_path, content):
    (tmp_path / "config.toml").write_bytes(content)
    with pytest.raises(ConfigError, match=r"config\.toml"):
        RunStore(tmp_path).config()


# -- continuity: damage refused or repaired, never silent -----------------------------


def test_a_line_missing_from_the_middle_of_candidates_is_refused(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=3)
    rewrite(out / "candidates.jsonl", lambda rows: rows[:1] + rows[2:])
    before = (out / "candidates.jsonl").read_bytes()
    with pytest.raises(DataFormatError, match=r"candidates.jsonl:2: candidate index 2 where 1"):
        resume(out, arith_host, target=5)
    assert (out / "candidates.jsonl").read_bytes() == before


def test_a_repeated_candidate_line_is_refused(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    rewrite(out / "candidates.jsonl", lambda rows: rows[:2] + rows[1:])
    with pytest.raises(DataFormatError, match=r"candidates.jsonl:3: .*missing or repeated"):
        resume(out, arith_host, target=4)


def test_a_damaged_candidate_line_is_refused(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    rewrite(out / "candidates.jsonl", lambda rows: [rows[0], "#garbage\n", *rows[2:]])
    with pytest.raises(DataFormatError, match=r"candidates.jsonl:2: not valid JSON"):
        resume(out, arith_host, target=4)


def test_dataset_damage_is_refused_and_rebuilt_once_deleted(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=3)
    original = lines(out / "dataset.jsonl")
    rewrite(out / "dataset.jsonl", lambda rows: rows[:1] + rows[2:])
    with pytest.raises(DataFormatError, match=r"dataset.jsonl:2: .*delete dataset.jsonl"):
        resume(out, arith_host, target=3)
    rewrite(out / "dataset.jsonl", lambda rows: [rows[0], '{"id": "x", "messages": []}\n'])
    with pytest.raises(DataFormatError, match=r"dataset.jsonl:2: example 'x' is not"):
        resume(out, arith_host, target=3)
    (out / "dataset.jsonl").unlink()
    resume(out, arith_host, target=3)
    assert lines(out / "dataset.jsonl") == original


def test_lost_last_dataset_lines_are_restored(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=3)
    original = lines(out / "dataset.jsonl")
    rewrite(out / "dataset.jsonl", lambda rows: rows[:1])
    result = resume(out, arith_host, target=3)
    assert result.accepted == 3 and lines(out / "dataset.jsonl") == original
    assert "'examples_restored': 2" in (out / "run.log").read_text()


@pytest.mark.parametrize("name", ["candidates.jsonl", "dataset.jsonl"])
def test_resume_drops_a_line_cut_short_and_nothing_else(tmp_path, arith_host, name):
    out = finished_run(tmp_path, arith_host, target=2)
    path = out / name
    whole = path.read_bytes()
    last = whole.splitlines(keepends=True)[-1]
    path.write_bytes(whole[: -len(last)] + last[: len(last) // 2])
    if name == "candidates.jsonl":
        # killed while writing it: what comes after a candidate line was never written
        torn = json.loads(last)["example_id"]
        rewrite(out / "dataset.jsonl", lambda rows: [r for r in rows if torn not in r])
        (out / "stats.json").unlink()
    result = resume(out, arith_host, target=3)
    assert result.accepted == 3
    assert path.read_bytes().startswith(whole[: -len(last)])
    rows = lines(out / "candidates.jsonl")
    assert [r["index"] for r in rows] == list(range(len(rows)))
    ids = [e["id"] for e in lines(out / "dataset.jsonl")]
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.parametrize("name", ["candidates.jsonl", "dataset.jsonl"])
@pytest.mark.parametrize(
    "tail", [b"\x7fELF\x02\x01\x01\x00\xff", b"garbage", b"[1, 2", b'{"a": 1}}']
)
def test_resume_refuses_a_damaged_last_line_and_changes_nothing(tmp_path, arith_host, name, tail):
    out = finished_run(tmp_path, arith_host, target=2)
    (out / name).write_bytes((out / name).read_bytes() + tail)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(DataFormatError, match=rf"{name}:\d+: "):
        resume(out, arith_host, target=3)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if k != "run.log"} == {
        k: v for k, v in before.items() if k != "run.log"
    }


def test_a_whole_last_line_without_its_newline_gets_it_on_resume(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    for name in ("candidates.jsonl", "dataset.jsonl"):
        (out / name).write_bytes((out / name).read_bytes().rstrip(b"\n"))
    assert resume(out, arith_host, target=3).accepted == 3
    assert len(lines(out / "dataset.jsonl")) == 3


def test_a_damaged_manifest_is_refused_before_resuming(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=1)
    (out / "manifest.json").write_text('{"resumed_at": "yesterday"}')
    before = (out / "candidates.jsonl").read_bytes()
    with pytest.raises(DataFormatError, match=r"manifest\.json: resumed_at: "):
        resume(out, arith_host, target=2)
    assert (out / "candidates.jsonl").read_bytes() == before


def test_stats_ahead_of_candidates_means_lost_lines(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=3)
    rewrite(out / "candidates.jsonl", lambda rows: rows[:-1])
    with pytest.raises(DataFormatError, match=r"stats.json: counts \d+ attempts but"):
        resume(out, arith_host, target=4)
    (out / "stats.json").write_text("not json")
    with pytest.raises(DataFormatError, match=r"stats\.json"):
        resume(out, arith_host, target=4)


# -- starting, failing to start, being killed at once ---------------------------------


def test_a_failed_open_leaves_nothing_behind(tmp_path, arith_host):
    out = tmp_path / "run"
    with pytest.raises(Exception, match="nosuch"):
        run(config(tmp_path, **{"judge.spec": "nosuch:model"}), arith_host)
    assert not logging.getLogger("nanoflux.run").handlers
    store = RunStore(out)
    store.lock()  # it was released
    store.unlock()
    result = run(config(tmp_path, target=1), arith_host)  # the same --out
    assert result.accepted == 1


def test_a_directory_killed_holding_only_its_temporary_config(tmp_path, arith_host):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".config.toml.tmp").write_text('domain = "ari')
    with pytest.raises(UsageError, match="holds no run yet") as caught:
        RunStore(out).require_run()
    assert f"--out {out}" in caught.value.one_line()
    assert run(config(tmp_path, target=1), arith_host).accepted == 1
    assert not (out / ".config.toml.tmp").exists()


def test_other_files_still_block_a_new_run(tmp_path, arith_host):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        run(config(tmp_path), arith_host)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # no lock file left there


# -- one process at a time -------------------------------------------------------------


def finished_cli_run(tmp_path, env, latency):
    """A run of two accepted examples, written by the `nanoflux run` command."""
    config_file = write_config(tmp_path, target=2, latency=latency)
    out = tmp_path / "run"
    command = nanoflux("run", "--config", str(config_file), "--out", str(out), "--quiet", env=env)
    subprocess.run(command, env=env, check=True)
    return out


def test_a_held_run_is_refused_with_the_holders_pid_until_it_dies(tmp_path, cli_env):  # noqa: F811
    out = finished_cli_run(tmp_path, cli_env, latency=0)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from nanoflux.engine.run_store import RunStore\n"
            f"RunStore({str(out)!r}).lock()\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n",
        ],
        env=cli_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        refused = subprocess.run(
            nanoflux("run", "--resume", str(out), "--target", "3", env=cli_env),
            env=cli_env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1
        assert f"in use by process {holder.pid}" in refused.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    resumed = subprocess.run(
        nanoflux("run", "--resume", str(out), "--target", "3", "--quiet", env=cli_env),
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert len(lines(out / "dataset.jsonl")) == 3


def _together(commands, env):
    processes = [
        subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    return [(p, *p.communicate(timeout=120)) for p in processes]


def _one_won(results, out, accepted):
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [err for _, _, err in results]
    (loser_err,) = [err for p, _, err in results if p.returncode == 2]
    assert loser_err.count("\n") == 1
    assert "in use by process" in loser_err or "is not empty" in loser_err
    ids = [e["id"] for e in lines(out / "dataset.jsonl")]
    assert len(ids) == len(set(ids)) == accepted
    rows = lines(out / "candidates.jsonl")
    # a round may hold several attempts (a repair turn): the index is the ledger's count
    assert [r["index"] for r in rows] == list(range(len(rows)))
    assert len({r["candidate_id"] for r in rows}) == len(rows)


def test_two_writers_at_once(tmp_path, cli_env):  # noqa: F811
    config_file = write_config(tmp_path, target=4, latency=0.02)
    out = tmp_path / "run"
    command = nanoflux(
        "run", "--config", str(config_file), "--out", str(out), "--quiet", env=cli_env
    )
    _one_won(_together([command, command], cli_env), out, accepted=4)


def test_two_resumers_at_once(tmp_path, cli_env):  # noqa: F811
    # long enough that the second starts while the first still holds the run (a resume
    # that starts after the first has finished rightly finds nothing to do, exit 0)
    out = finished_cli_run(tmp_path, cli_env, latency=0.1)
    command = nanoflux("run", "--resume", str(out), "--target", "12", "--quiet", env=cli_env)
    _one_won(_together([command, command], cli_env), out, accepted=12)


# -- stopped by a signal ----------------------------------------------------------------


@pytest.mark.parametrize(
    "stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"]
)
def test_a_signal_finishes_the_manifest_and_exits_in_one_line(tmp_path, cli_env, stop):  # noqa: F811
    config_file = write_config(tmp_path, target=50, latency=0.05)
    out = tmp_path / "run"
    command = nanoflux(
        "run", "--config", str(config_file), "--out", str(out), "--quiet", env=cli_env
    )
    # Ctrl-C as a terminal sends it: a suite started in the background (`pytest &`) hands
    # its children SIGINT ignored, and the run would then finish, exit 0, and say nothing
    process = subprocess.Popen(
        command,
        env=cli_env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not (out / "candidates.jsonl").is_file() or count_lines(out / "candidates.jsonl") < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + stop.value and err.count("\n") == 1, err
    expected = "Interrupted." if stop == signal.SIGINT else f"run stopped by {stop.name}"
    assert expected in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stopped_because"] == ("interrupted" if stop == signal.SIGINT else stop.name)
    assert "ended_at" in manifest
    # a commit the signal cut short is counted by the resume, which finishes it
    assert json.loads((out / "stats.json").read_text())["attempts"] >= 1
    resumed = subprocess.run(
        nanoflux("run", "--resume", str(out), "--target", "6", "--quiet", env=cli_env),
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    ids = [e["id"] for e in lines(out / "dataset.jsonl")]
    assert len(ids) == len(set(ids)) >= 6


@pytest.mark.parametrize("name", ["manifest.json", "stats.json"])
def test_a_folder_where_a_run_file_should_be_is_one_line(tmp_path, arith_host, name):
    out = finished_run(tmp_path, arith_host, target=1)
    (out / name).unlink()
    (out / name).mkdir()
    with pytest.raises(DataFormatError) as caught:
        resume(out, arith_host, target=2)
    assert caught.value.one_line() == f"{out / name}: is a folder, not a file"


# -- export ----------------------------------------------------------------------------


def test_export_never_writes_over_a_run(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    dataset = (out / "dataset.jsonl").read_bytes()
    for name in ("dataset.jsonl", "candidates.jsonl", "config.toml", "run.lock"):
        with pytest.raises(UsageError, match="never overwritten"):
            export_dataset(out, "alpaca", out / name)
    with pytest.raises(UsageError, match="is a run directory"):
        export_dataset(out, "hf", out)
    assert (out / "dataset.jsonl").read_bytes() == dataset
    resume(out, arith_host, target=3)  # the run is intact


def test_export_refuses_what_is_not_a_run(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(UsageError, match="not a run directory"):
        export_dataset(tmp_path / "elsewhere", "messages")
    assert not (tmp_path / "elsewhere" / "export").exists()


def test_export_refuses_a_dataset_that_ends_in_garbage(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    (out / "dataset.jsonl").write_bytes(bytes(range(256)))
    with pytest.raises(DataFormatError, match=r"dataset\.jsonl:1: binary data"):
        export_dataset(out, "messages")
    assert not (out / "export").exists()


def test_export_is_all_or_nothing(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    target = tmp_path / "dpo.jsonl"
    target.write_text("earlier export\n")
    rewrite(out / "dataset.jsonl", lambda rows: [rows[0], '{"id": "x", "messages": []}\n'])
    with pytest.raises(DataFormatError, match="no defender answer"):
        export_dataset(out, "dpo", target)
    assert target.read_text() == "earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    path, count = export_dataset(out, "messages", target)
    assert count == 2 and len(lines(path)) == 2
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
