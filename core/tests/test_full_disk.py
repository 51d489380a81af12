"""A full disk at any point of a run: one line naming the file, and a folder that
``--resume`` accepts once there is space again, with nothing lost or doubled."""

import contextlib
import errno
import json
import os
import subprocess
import uuid

import pytest
from test_engine import config
from test_resume import cli_env, lines, nanoflux, write_config  # noqa: F401 (fixture)
from test_run_store import finished_run, resume, rewrite

from nanoflux import storage
from nanoflux.engine import run
from nanoflux.engine.run_store import RunStore
from nanoflux.errors import DataFormatError, NanofluxError

TARGET = 4
REAL_WRITE = os.write


class Disk:
    """os.write, for files under ``root`` (named ``only``, if given), as a disk with
    ``room`` bytes left (None: no limit) that writes at most ``chunk`` bytes at a time: a
    write that does not fit is written in part, the next one fails with ENOSPC. ``used``
    counts what was written."""

    def __init__(self, root, room=None, chunk=None, only=None):
        self.root, self.room, self.chunk, self.used = str(root), room, chunk, 0
        self.only = only

    def ours(self, fd):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return False
        return path.startswith(self.root) and self.only in (None, os.path.basename(path))

    def __call__(self, fd, data):
        if not self.ours(fd):
            return REAL_WRITE(fd, data)
        size = len(data) if self.chunk is None else min(len(data), self.chunk)
        if self.room is not None:
            if self.room == 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            size = min(size, self.room)
            self.room -= size
        self.used += size
        return REAL_WRITE(fd, data[:size])


@contextlib.contextmanager
def disk(monkeypatch, root, **limits):
    fake = Disk(root, **limits)
    with monkeypatch.context() as patch:
        patch.setattr(os, "write", fake)
        yield fake


def assert_whole(out, accepted):
    """Every accepted example on disk exactly once, in the ledger's order; the ledger whole."""
    candidates = lines(out / "candidates.jsonl")
    assert [c["index"] for c in candidates] == list(range(len(candidates)))
    ids = [e["id"] for e in lines(out / "dataset.jsonl")]
    assert ids == [c["example_id"] for c in candidates if c["decision"] == "accepted"]
    assert len(ids) == len(set(ids)) == accepted
    stats = json.loads((out / "stats.json").read_text())
    assert stats["accepted"] == accepted and stats["attempts"] == len(candidates)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stopped_because"] == "target" and "ended_at" in manifest
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_short_writes_are_written_whole(tmp_path, arith_host, monkeypatch):
    out = tmp_path / "run"
    with disk(monkeypatch, out, chunk=7) as fake:
        assert run(config(tmp_path, target=TARGET), arith_host).accepted == TARGET
    assert fake.used > 1000
    assert_whole(out, TARGET)


def test_a_full_disk_anywhere_is_one_line_and_resumes(tmp_path, arith_host, monkeypatch):
    with disk(monkeypatch, tmp_path / "whole" / "run") as whole:
        run(config(tmp_path / "whole", target=TARGET), arith_host)
    # the disk fills in each of the files and at each commit, in the middle of a write
    rooms = sorted({0, 1, 5, 300, 700, *range(1000, whole.used, whole.used // 23)})
    seen = set()
    for room in rooms:
        case = tmp_path / f"room{room}"
        out = case / "run"
        with disk(monkeypatch, out, room=room), pytest.raises(NanofluxError) as caught:
            run(config(case, target=TARGET), arith_host)
        line = caught.value.one_line()
        assert f"cannot write {out}/" in line and "No space left on device" in line, line
        assert "unexpected" not in line and "\n" not in line
        seen.add(line.split(":")[0].rsplit("/", 1)[1])
        if RunStore(out).is_run():
            assert resume(out, arith_host, target=TARGET).accepted == TARGET
        else:  # it stopped before its config was written: the same command starts it
            assert run(config(case, target=TARGET), arith_host).accepted == TARGET
        assert_whole(out, TARGET)
    assert {"config.toml", "candidates.jsonl", "dataset.jsonl", "stats.json"} <= seen, seen


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("candidates.jsonl", "candidates.jsonl"),
        ("dataset.jsonl", "dataset.jsonl"),
        ("run.log", "run.log"),
        (".stats.json.tmp", "stats.json"),
        (".manifest.json.tmp", "manifest.json"),
    ],
)
@pytest.mark.parametrize("room", [0, 200])
def test_a_full_disk_in_each_file_resumes(tmp_path, arith_host, monkeypatch, name, shown, room):
    out = tmp_path / "run"
    with disk(monkeypatch, out, room=room, only=name), pytest.raises(NanofluxError) as caught:
        run(config(tmp_path, target=TARGET), arith_host)
    assert caught.value.one_line().startswith(f"cannot write {out / shown}: No space left")
    assert resume(out, arith_host, target=TARGET).accepted == TARGET
    assert_whole(out, TARGET)


def test_a_failed_append_is_cut_back_off_its_file(tmp_path, monkeypatch):
    path = tmp_path / "candidates.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    with disk(monkeypatch, tmp_path, room=4), pytest.raises(storage.WriteError) as caught:
        storage.append(path, b'{"b": 2}\n', durable=True)
    assert caught.value.one_line().startswith(f"cannot write {path}: No space left on device")
    assert path.read_bytes() == b'{"a": 1}\n'


@pytest.mark.parametrize("code", [errno.EDQUOT, errno.EIO, errno.EACCES])
def test_any_write_error_names_the_file(tmp_path, monkeypatch, code):
    def failing(fd, data):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "write", failing)
    for write in (storage.write_atomic, storage.append):
        path = tmp_path / f"{write.__name__}.json"
        with pytest.raises(storage.WriteError) as caught:
            write(path, b"{}\n")
        assert caught.value.one_line().startswith(f"cannot write {path}: {os.strerror(code)}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["append.json"]  # empty, no temp


# -- what a full disk left before appends were all or nothing ----------------------------


def cut_last_candidate(out, keep):
    """candidates.jsonl's last line cut to ``keep`` of its bytes (0: gone) while
    dataset.jsonl still holds its example, as a short write followed by a full disk left
    them; stats.json written before that commit."""
    path = out / "candidates.jsonl"
    whole = path.read_bytes()
    last = whole.splitlines(keepends=True)[-1]
    assert json.loads(last)["decision"] == "accepted"
    path.write_bytes(whole[: -len(last)] + last[: int(len(last) * keep)])
    stats = json.loads((out / "stats.json").read_text())
    stats.update(attempts=stats["attempts"] - 1, accepted=stats["accepted"] - 1)
    (out / "stats.json").write_text(json.dumps(stats))
    return json.loads(last)["example_id"]


@pytest.mark.parametrize("keep", [0, 0.3, 0.9])
def test_an_example_whose_candidate_line_was_cut_off_is_dropped(tmp_path, arith_host, keep):
    out = finished_run(tmp_path, arith_host, target=3)
    lost = cut_last_candidate(out, keep)
    assert lost == lines(out / "dataset.jsonl")[-1]["id"]
    assert resume(out, arith_host, target=4).accepted == 4
    ids = [e["id"] for e in lines(out / "dataset.jsonl")]
    assert len(ids) == len(set(ids)) == 4
    candidates = lines(out / "candidates.jsonl")
    assert ids == [c["example_id"] for c in candidates if c["decision"] == "accepted"]
    assert [c["index"] for c in candidates] == list(range(len(candidates)))
    assert "'orphans_dropped': 1" in (out / "run.log").read_text()


def test_two_examples_past_the_ledger_are_damage(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=3)
    cut_last_candidate(out, 0)
    extra = json.dumps({"id": uuid.uuid4().hex, "messages": []}) + "\n"
    rewrite(out / "dataset.jsonl", lambda rows: [*rows, extra])
    before = (out / "dataset.jsonl").read_bytes()
    with pytest.raises(DataFormatError, match=r"dataset\.jsonl:4: .* has no accepted candidate"):
        resume(out, arith_host, target=4)
    assert (out / "dataset.jsonl").read_bytes() == before


def test_an_example_written_twice_is_damage(tmp_path, arith_host):
    out = finished_run(tmp_path, arith_host, target=2)
    rewrite(out / "dataset.jsonl", lambda rows: [*rows, rows[-1]])
    with pytest.raises(DataFormatError, match=r"dataset\.jsonl:3: .* is written twice"):
        resume(out, arith_host, target=3)


# -- a real full disk: a small tmpfs -----------------------------------------------------


@contextlib.contextmanager
def tmpfs(path, size):
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("size", ["40k", "72k", "112k", "156k"])
def test_a_run_on_a_full_tmpfs_resumes_once_it_grows(tmp_path, cli_env, size):  # noqa: F811
    with tmpfs(tmp_path / "disk", size) as mounted:
        out = mounted / "run"
        config_file = write_config(tmp_path, target=40, latency=0)
        command = nanoflux(
            "run", "--config", str(config_file), "--out", str(out), "--quiet", env=cli_env
        )
        full = subprocess.run(command, env=cli_env, capture_output=True, text=True)
        assert full.returncode == 1 and full.stderr.count("\n") == 1, full.stderr
        assert f"cannot write {out}/" in full.stderr and "No space left" in full.stderr
        grown = ["mount", "-o", "remount,size=8m", str(mounted)]
        subprocess.run(grown, check=True)
        again = nanoflux("run", "--resume", str(out), "--quiet", env=cli_env)
        resumed = subprocess.run(again, env=cli_env, capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        assert_whole(out, 40)
