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


# -- what a resumed evaluation trusts of its folder ----------------------------------------


def quick(bench, out, *extra):
    return command(bench, out, "-O", "latency=0", *extra)


def resume_folder(bench, tmp_path, edit):
    """A finished evaluation turned back into a killed one: started.json and the answered
    lines in items.partial.jsonl (``edit`` changes them), no summary."""
    out = tmp_path / "eval"
    done = subprocess.run(quick(bench, out), env=env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls(tmp_path)
    folder = out / "model"
    lines = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
    (folder / "items.jsonl").unlink()
    (folder / "summary.json").unlink()
    kept = edit(lines)
    (folder / PARTIAL_FILE).write_text("".join(json.dumps(line) + "\n" for line in kept))
    return out


def test_a_hand_edited_correct_is_not_trusted_on_resume(bench, tmp_path):
    def edit(lines):
        for line in lines[:6]:  # items 1-6: 2, 4 right; 1, 5 off by one; 3, 6 no answer
            line["correct"] = True
            line["reference"] = line["prediction"] or "?"
        return lines[:6]

    out = resume_folder(bench, tmp_path, edit)
    resumed = subprocess.run(
        quick(bench, out, "--json"), env=env(tmp_path), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming, 6 of 12 items already answered" in resumed.stderr
    assert sorted(map(int, calls(tmp_path))) == list(range(7, ITEMS + 1))
    summary, items = read_eval(out / "model")
    # rightness decided again from each stored prediction, against the benchmark's answer
    assert summary.correct == sum(1 for i in range(1, ITEMS + 1) if i % 2 == 0 and i % 3)
    assert [item.correct for item in items[:6]] == [False, True, False, True, False, False]
    assert [item.reference for item in items[:6]] == [str(2 * i) for i in range(1, 7)]
    assert json.loads(resumed.stdout)["correct"] == summary.correct


def test_a_resumed_line_for_an_item_the_evaluation_does_not_ask_is_refused(bench, tmp_path):
    def edit(lines):
        stranger = dict(lines[0], id="gsm8k-other-99", correct=True)
        return [*lines[:3], stranger, *lines[3:5]]

    out = resume_folder(bench, tmp_path, edit)
    before = (out / "model" / PARTIAL_FILE).read_bytes()
    refused = subprocess.run(quick(bench, out), env=env(tmp_path), capture_output=True, text=True)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    (line,) = [line for line in refused.stderr.splitlines() if line.strip()]
    assert f"{PARTIAL_FILE}:4: item 'gsm8k-other-99' is not one of the 12 items" in line
    assert calls(tmp_path) == [] and read_eval(out / "model") is None
    assert (out / "model" / PARTIAL_FILE).read_bytes() == before


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("started.json", lambda p: p.write_text('{"model": "' + "x" * 5000), "not valid JSON"),
        ("started.json", lambda p: p.write_text('{"model": 3}'), "model: Input should be"),
        ("started.json", lambda p: (p.unlink(), p.mkdir()), "is a folder, not a file"),
        ("summary.json", lambda p: p.write_text('{"model": "' + "x" * 5000 + '"}'), "required"),
        ("items.jsonl", lambda p: p.write_text('{"id": 1}\n'), "items.jsonl:1: "),
    ],
)
def test_a_damaged_folder_is_one_line_without_its_content(bench, tmp_path, name, damage, message):
    out = tmp_path / "eval"
    done = subprocess.run(quick(bench, out), env=env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    damage(out / "model" / name)
    again = subprocess.run(quick(bench, out), env=env(tmp_path), capture_output=True, text=True)
    assert again.returncode != 0 and "Traceback" not in again.stderr
    lines = [line for line in again.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and name in lines[0] and message in lines[0], lines
    assert "xxxxxxxx" not in lines[0] and len(lines[0]) < 400


@pytest.mark.parametrize(
    "name", ["items.partial.jsonl", "eval.lock", "started.json", "summary.json", "items.jsonl"]
)
def test_a_link_in_the_folder_is_refused_and_its_target_untouched(bench, tmp_path, name):
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    out = tmp_path / "eval"
    (out / "model").mkdir(parents=True)
    (out / "model" / name).symlink_to(victim)
    refused = subprocess.run(quick(bench, out), env=env(tmp_path), capture_output=True, text=True)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert name in refused.stderr and "link" in refused.stderr
    assert victim.read_text() == "keep me\n" and calls(tmp_path) == []


def test_eval_json_replaces_a_link_instead_of_writing_through_it(bench, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    out = tmp_path / "eval"
    out.mkdir()
    (out / "eval.json").symlink_to(victim)
    done = subprocess.run(
        quick(bench, out, "--json"), env=env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "keep me\n" and not (out / "eval.json").is_symlink()
    assert json.loads((out / "eval.json").read_text()) == json.loads(done.stdout)
