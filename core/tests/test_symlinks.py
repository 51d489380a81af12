"""No file NanoFlux writes in a run, eval or export folder is written through a link.

Each test plants a link at a name NanoFlux writes, pointing at a victim file outside
the folder (or at a name outside it that does not exist), runs the real operation and
checks that the victim is untouched (or was never made) and that a refusal is one line
naming the link.
"""

import os
import subprocess

import pytest
from test_engine import config
from test_resume import cli_env, lines, nanoflux  # noqa: F401 (fixture)
from test_run_store import finished_cli_run, finished_run, resume

from nanoflux import storage
from nanoflux.engine import run
from nanoflux.engine.export import export_dataset
from nanoflux.engine.run_store import RUN_FILES
from nanoflux.errors import NanofluxError
from nanoflux.evaluation.files import EvalFolder, EvalIdentity
from nanoflux.evaluation.protocols import Protocol
from nanoflux.records import Example

VICTIM = b"someone else's file\n"
TEMPORARIES = [f".{name}.tmp" for name in ("config.toml", "manifest.json", "stats.json")]


@pytest.fixture(params=["victim", "dangling"])
def target(request, tmp_path):
    """Where a planted link points: a file outside the folder, or a name that is not there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / request.param
    if request.param == "victim":
        path.write_bytes(VICTIM)
    return path


def untouched(target):
    """The link's target is as it was: the victim unchanged, the dangling name never made."""
    if target.name == "victim":
        return target.read_bytes() == VICTIM
    return not target.exists()


def plant(folder, name, target):
    """A link at ``folder/name`` (what the run had there is moved aside)."""
    path = folder / name
    if path.exists():
        path.unlink()
    path.symlink_to(target)
    return path


def refused(caught, link):
    line = caught.value.one_line()
    assert str(link) in line and "symbolic link" in line and "\n" not in line, line


# -- a run ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", RUN_FILES)
def test_a_resume_refuses_a_link_at_a_file_of_the_run(tmp_path, arith_host, target, name):
    out = finished_run(tmp_path, arith_host, target=2)
    link = plant(out, name, target)
    with pytest.raises(NanofluxError) as caught:
        resume(out, arith_host, target=3)
    refused(caught, link)
    assert untouched(target) and link.is_symlink()


@pytest.mark.parametrize("name", [".manifest.json.tmp", ".stats.json.tmp"])
def test_a_link_at_a_temporary_name_is_removed_not_written(tmp_path, arith_host, target, name):
    out = finished_run(tmp_path, arith_host, target=2)
    link = plant(out, name, target)
    assert resume(out, arith_host, target=3).accepted == 3
    assert untouched(target) and not link.is_symlink()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name", [*RUN_FILES, *TEMPORARIES])
def test_a_new_run_never_writes_through_a_link_it_finds(tmp_path, arith_host, target, name):
    out = tmp_path / "run"
    out.mkdir()
    link = plant(out, name, target)
    try:
        result = run(config(tmp_path, target=1), arith_host)
    except NanofluxError as exc:
        assert "\n" not in exc.one_line()
        # the lock is taken before anything is removed: its link is refused, not followed
        assert name != "run.lock" or str(link) in exc.one_line()
    else:
        assert name != "run.lock", "a run started on a linked run.lock"
        assert result.accepted == 1 and not link.is_symlink()
    assert untouched(target)


def test_the_command_line_refuses_a_linked_lock_in_one_line(tmp_path, cli_env):  # noqa: F811
    out = finished_cli_run(tmp_path, cli_env, latency=0)
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    plant(out, "run.lock", victim)
    done = subprocess.run(
        nanoflux("run", "--resume", str(out), "--target", "3", env=cli_env),
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"{out / 'run.lock'} is a symbolic link" in done.stderr
    assert victim.read_bytes() == VICTIM


# -- an eval folder -------------------------------------------------------------------


def identity():
    return EvalIdentity(
        model="scripted:x",
        benchmark="arith:demo",
        protocol=Protocol(name="cot", max_tokens=16),
        item_ids=["a", "b"],
    )


def test_an_eval_folder_refuses_a_linked_lock(tmp_path, target):
    folder = tmp_path / "eval"
    folder.mkdir()
    link = plant(folder, "eval.lock", target)
    with pytest.raises(NanofluxError) as caught:
        EvalFolder(folder).open(identity())
    refused(caught, link)
    assert untouched(target)


@pytest.mark.parametrize("name", ["started.json", "items.jsonl", "summary.json"])
def test_an_eval_folder_replaces_a_linked_temporary(tmp_path, target, name):
    folder = tmp_path / "eval"
    folder.mkdir()
    link = plant(folder, f".{name}.tmp", target)
    store = EvalFolder(folder)
    assert store.open(identity()) == {}
    storage.write_atomic(folder / name, "{}\n")  # what finish() does, file by file
    store.close()
    assert untouched(target) and not link.exists()
    assert (folder / "started.json").is_file() and not (folder / "started.json").is_symlink()


# -- export ---------------------------------------------------------------------------


def test_export_refuses_a_linked_export_folder(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "export").symlink_to(elsewhere)
    with pytest.raises(NanofluxError) as caught:
        export_dataset(out, "messages")
    refused(caught, out / "export")
    assert list(elsewhere.iterdir()) == []


def test_export_replaces_a_linked_file_and_never_writes_through_it(tmp_path, arith_host, target):
    out = finished_run(tmp_path, arith_host, target=2)
    (out / "export").mkdir()
    link = plant(out / "export", "alpaca.jsonl", target)
    path, count = export_dataset(out, "alpaca")
    assert path == link and count == 2 and not link.is_symlink() and len(lines(path)) == 2
    assert untouched(target)


# -- the primitives every writer shares -------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        lambda path: storage.append(path, b"{}\n"),
        lambda path: os.close(storage.open_append(path)),
        lambda path: os.close(storage.hold_exclusive(path, "the folder")),
        lambda path: storage.truncate(path, 0),
        lambda path: storage.last_line(path),
        lambda path: storage.LogFile(path).close(),
    ],
    ids=["append", "open_append", "hold_exclusive", "truncate", "last_line", "LogFile"],
)
def test_no_primitive_opens_a_link(tmp_path, target, write):
    link = plant(tmp_path, "file", target)
    with pytest.raises(storage.UnsafePathError) as caught:
        write(link)
    refused(caught, link)
    assert untouched(target)


@pytest.mark.parametrize("unique", [False, True])
def test_write_atomic_replaces_a_link_at_its_name(tmp_path, target, unique):
    link = plant(tmp_path, "file.json", target)
    plant(tmp_path, ".file.json.tmp", target)
    storage.write_atomic(link, [b"new", b"\n"], unique=unique)
    assert link.read_bytes() == b"new\n" and not link.is_symlink()
    assert untouched(target)


def test_write_atomic_refuses_a_folder_at_its_name_or_its_temporary(tmp_path):
    (tmp_path / "a.json").mkdir()
    with pytest.raises(storage.UnsafePathError, match=r"a\.json is a folder where a file"):
        storage.write_atomic(tmp_path / "a.json", "{}")
    (tmp_path / ".b.json.tmp").mkdir()
    with pytest.raises(storage.UnsafePathError, match=r"\.b\.json\.tmp is a folder"):
        storage.write_atomic(tmp_path / "b.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.json.tmp", "a.json"]


def test_a_pipe_at_a_name_is_refused_without_waiting_for_a_reader(tmp_path):
    os.mkfifo(tmp_path / "dataset.jsonl")
    with pytest.raises(storage.UnsafePathError, match="not a regular file"):
        storage.append(tmp_path / "dataset.jsonl", b"{}\n")
    os.mkfifo(tmp_path / "run.lock")
    with pytest.raises(storage.UnsafePathError, match="not a regular file"):
        storage.hold_exclusive(tmp_path / "run.lock", "the folder")


def test_ensure_real_dir_makes_a_folder_and_refuses_a_link_or_a_file(tmp_path, target):
    assert storage.ensure_real_dir(tmp_path / "a" / "b").is_dir()
    link = plant(tmp_path, "export", target)
    with pytest.raises(storage.UnsafePathError) as caught:
        storage.ensure_real_dir(link)
    refused(caught, link)
    (tmp_path / "file").write_text("x")
    with pytest.raises(storage.UnsafePathError, match="is not a folder"):
        storage.ensure_real_dir(tmp_path / "file")
    assert untouched(target)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is a folder, not a file"),
        (b"\x00\x01binary" * 40, "binary"),
        (b'{"id": "secret-content-' + b"x" * 3000, "not valid JSON"),
        (b'["secret-content"]', "expected a JSON object, found list"),
        (b'{"id": ["secret-content"], "messages": []}', "id: "),
        (b'{"id": "a", "messages": "secret-content"}', "messages: "),
    ],
)
def test_a_damaged_record_file_is_one_line_without_its_content(tmp_path, content, message):
    path = tmp_path / "started.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(NanofluxError, match=message) as caught:
        storage.load_record(path, Example)
    line = caught.value.one_line()
    assert line.startswith(f"{path}: ") and "\n" not in line and len(line) < 300, line
    assert "secret-content" not in line and "pydantic" not in line
