"""`nanoflux eval` writes each item as it is answered: killed with SIGKILL half-way, the
same command resumes and asks only what is left; another evaluation is refused from the
folder; two at once are refused. The scripted backend (with latency) stands in for the
model, which is not what is tested; the process, the kill and the files are real."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nanoflux.evaluation import PARTIAL_FILE, read_eval

ITEMS = 12


RESPONDER = """
import os, re


def reply(request):
    # right on the even items, off by one on the odd ones, no answer on every third;
    # every call is logged so a test can count what was asked
    question = request.messages[-1].content
    i = int(re.search(r"What is (\\d+) plus", question).group(1))
    with open(os.environ["EVAL_CALLS"], "a") as log:
        log.write(f"{i}\\n")
    if i % 3 == 0:
        return "I cannot say."
    return f"Adding.\\nFinal answer: {2 * i + i % 2}"
"""


@pytest.fixture
def bench(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text(
        "".join(
            json.dumps({"question": f"What is {i} plus {i}?", "answer": f"{i}+{i}\n#### {2 * i}"})
            + "\n"
            for i in range(1, ITEMS + 1)
        )
    )
    (tmp_path / "eval_responder.py").write_text(RESPONDER)
    return path


def command(bench, out, *extra):
    return [
        sys.executable, "-m", "nanoflux", "eval",
        "-m", "scripted:eval_responder:reply",
        "-b", f"math:gsm8k:{bench}",
        "--concurrency", "1",
        "-O", "latency=0.25",
        "--protocol", "cot",
        "--out", str(out),
        *extra,
    ]  # fmt: skip


def env(tmp_path):
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    return {
        **os.environ,
        "NANOFLUX_HOME": str(tmp_path / "home"),
        "PYTHONPATH": path,
        "EVAL_CALLS": str(tmp_path / "calls.log"),
    }


def calls(tmp_path):
    log = tmp_path / "calls.log"
    asked = log.read_text().split() if log.is_file() else []
    log.unlink(missing_ok=True)
    return asked


def wait_for_lines(path, count, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_bytes().count(b"\n") >= count:
            return
        assert process.poll() is None, "the evaluation ended before it was killed"
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {count} lines")


def test_a_killed_evaluation_resumes_where_it_stopped(bench, tmp_path):
    out = tmp_path / "eval"
    first = subprocess.Popen(command(bench, out), env=env(tmp_path), stderr=subprocess.PIPE)
    wait_for_lines(out / "model" / PARTIAL_FILE, 4, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    calls(tmp_path)
    answered = (out / "model" / PARTIAL_FILE).read_bytes().count(b"\n")
    assert 4 <= answered < ITEMS and read_eval(out / "model") is None

    second = subprocess.run(
        command(bench, out, "--json"), env=env(tmp_path), capture_output=True, text=True
    )
    assert second.returncode == 0, second.stderr
    # the kill may land between two appends or in the middle of one (a torn line is dropped)
    resumed = int(second.stderr.split("resuming, ")[1].split(" of")[0])
    assert resumed in (answered, answered + 1)
    summary, items = read_eval(out / "model")
    started = json.loads((out / "model" / "started.json").read_text())
    assert [item.id for item in items] == started["item_ids"] and len(
        set(started["item_ids"])
    ) == ITEMS
    assert summary.n == ITEMS and not (out / "model" / PARTIAL_FILE).exists()
    # even items right, odd ones off by one, every third without an answer
    assert summary.correct == sum(1 for i in range(1, ITEMS + 1) if i % 2 == 0 and i % 3)
    assert summary.failures == {"malformed_output": ITEMS // 3}
    assert json.loads(second.stdout)["n"] == ITEMS
    assert len(calls(tmp_path)) == ITEMS - resumed  # only what was left was asked

    # a finished folder is read back, not asked again nor written again
    written = {
        name: (out / "model" / name).read_bytes() for name in ("summary.json", "items.jsonl")
    }
    third = subprocess.run(
        command(bench, out, "--json"), env=env(tmp_path), capture_output=True, text=True
    )
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["correct"] == summary.correct and calls(tmp_path) == []
    assert {name: (out / "model" / name).read_bytes() for name in written} == written


def test_a_folder_holding_another_evaluation_is_refused_in_one_line(bench, tmp_path):
    out = tmp_path / "eval"
    done = subprocess.run(command(bench, out), env=env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    before = (out / "model" / "items.jsonl").read_bytes()
    other = command(bench, out, "--max-tokens", "256")
    refused = subprocess.run(other, env=env(tmp_path), capture_output=True, text=True)
    assert refused.returncode != 0
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert (
        "holds another evaluation" in lines[0]
        and "protocol max_tokens: 256 now, 512 there" in lines[0]
    )
    assert "Traceback" not in refused.stderr
    assert (out / "model" / "items.jsonl").read_bytes() == before


def test_two_evaluations_into_one_folder_at_once(bench, tmp_path):
    out = tmp_path / "eval"
    first = subprocess.Popen(command(bench, out), env=env(tmp_path), stderr=subprocess.PIPE)
    wait_for_lines(out / "model" / PARTIAL_FILE, 1, first)
    second = subprocess.run(command(bench, out), env=env(tmp_path), capture_output=True, text=True)
    assert first.wait(timeout=60) == 0
    assert second.returncode != 0 and "is in use by process" in second.stderr
    summary, items = read_eval(out / "model")
    assert summary.n == ITEMS and len({item.id for item in items}) == ITEMS
