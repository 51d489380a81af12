"""The sandbox's parts that need no bubblewrap: the result channel's parser, the runner's
value conversion, and the cgroup plumbing on a directory shaped like a cgroup."""

from __future__ import annotations

import json
import os

import pytest

from nanoflux.sandbox import cgroup, channel, runner


def test_the_report_is_the_last_line():
    data = b"junk\n" + json.dumps({"status": "ok", "value": 1}).encode() + b"\n\n"
    assert channel.read_report(data) == {"status": "ok", "value": 1}
    assert channel.read_report(b"\n \n") is None


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"[" * 200_000, "nested too deeply"),
        (b'{"v": ' + b"[" * 30 + b"]" * 30 + b"}", "deeper than"),
        (b"[1, 2]", "not an object"),
        (b'{"status": "ok"', "not JSON"),
        (b"\xff\xfe{", "not JSON"),
    ],
)
def test_a_bad_line_is_refused_with_its_cause(line, why):
    with pytest.raises(channel.BadReport, match=why):
        channel.read_report(b"READY\n" + line)


def test_lone_surrogates_are_replaced_and_pairs_kept():
    report = channel.read_report(b'{"a\\udc80": ["\\ud800", "\\ud83d\\ude00"]}')
    assert report == {"a\ufffd": ["\ufffd", "\U0001f600"]}
    json.dumps(report, ensure_ascii=False).encode("utf-8")


def test_the_runner_makes_values_json_safe():
    nested: list = []
    for _ in range(100):
        nested = [nested]
    value = runner.safe({"big": 10**5000, "s": "\ud800", 3: {1, 2}, "deep": nested})
    assert value["s"] == "\ufffd" and value["3"] == [1, 2]
    assert value["big"].startswith("<integer of")
    text = json.dumps(value)
    assert channel.read_report(json.dumps({"status": "ok", "value": value}).encode())
    assert len(text) < 10_000


def test_the_runner_reports_where_the_program_failed():
    report = runner.execute("x = 1\nraise KeyError('k')")
    assert report["status"] == "exception" and "line 2" in report["error"]
    assert runner.execute("def solution():\n    return 5") == {
        "status": "ok",
        "has_solution": True,
        "value": 5,
    }


@pytest.fixture
def fake_cgroup(tmp_path, monkeypatch):
    """A directory shaped like a delegated cgroup v2 (the kernel's files are plain here)."""
    (tmp_path / "cgroup.subtree_control").write_text("cpu memory pids\n")
    monkeypatch.setenv(cgroup.CGROUP_VARIABLE, str(tmp_path))
    return tmp_path


def test_a_delegated_cgroup_is_found_only_with_memory_and_pids(fake_cgroup):
    assert cgroup.delegated() == fake_cgroup
    (fake_cgroup / "cgroup.subtree_control").write_text("cpu memory\n")
    assert cgroup.delegated() is None


def test_a_cgroup_gets_its_limits_and_goes_away(fake_cgroup):
    group = cgroup.Cgroup(fake_cgroup, memory_bytes=256 << 20, tasks=18)
    assert (group.path / "memory.max").read_text() == f"{256 << 20}\n"
    assert (group.path / "pids.max").read_text() == "18\n"
    group.adopt(os.getpid())
    assert str(os.getpid()) in (group.path / "cgroup.procs").read_text()
    assert not group.out_of_memory()
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.out_of_memory()
    for name in ("memory.max", "pids.max", "cgroup.procs", "memory.events"):
        (group.path / name).unlink()  # the kernel's files vanish with the cgroup
    group.close()
    assert not group.path.exists()


def test_without_delegation_there_is_no_cgroup(monkeypatch, tmp_path):
    monkeypatch.setenv(cgroup.CGROUP_VARIABLE, str(tmp_path / "absent"))
    assert cgroup.delegated() is None
