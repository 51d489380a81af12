"""A third-party judge tool reaches the Judge: the example in CONTRIBUTING.md, installed
from its blocks as a distribution of its own, changes verdicts in real ``nanoflux run``s.

The question asks what a compounded deposit grows to. Math is code-first: the Attacker's
program gives the reference, and the (scripted) blind solve reaches it. A program that
compounds yearly where the question says quarterly passes every math check; with
``[judging] tools`` naming the finance tool it is caught, and a right one confirmed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUESTION = {
    "text": "Ana puts 1500 dollars at 4.3 % interest, compounded quarterly for 6 years. "
    "What is her balance then, in dollars?",
    "hops": 2,
    "skill": "fractions_and_percentages",
}
PROGRAMS = {
    "1938.84": "def solution():\n    rate = 0.043 / 4\n    quarters = 6 * 4\n"
    "    return round(1500 * (1 + rate) ** quarters, 2)\n",
    # compounded yearly: the misreading the finance tool exists to catch
    "1931.07": "def solution():\n    growth = (1 + 0.043) ** 6\n"
    "    return round(1500 * growth, 2)\n",
}


def contributing_block(language: str, marker: str) -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    (block,) = [b for b in re.findall(rf"```{language}\n(.*?)```", text, re.S) if marker in b]
    return block


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example installed by pip, as a user following CONTRIBUTING.md would."""
    source = tmp_path_factory.mktemp("nanoflux-finance")
    (source / "nanoflux_finance.py").write_text(contributing_block("python", "judge_tool("))
    (source / "pyproject.toml").write_text(contributing_block("toml", "[project]"))
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--no-build-isolation", "--target", str(target), str(source)], check=True)
    models = target / "finance_round_models.py"
    models.write_text(
        textwrap.dedent("""
        import json, os

        from nanoflux.default_plugins.scripted import (
            attacking, defender_reply, judge_reply, solving_blind,
        )

        QUESTION = json.loads(os.environ["FINANCE_QUESTION"])

        def model(request):
            if attacking(request):
                return QUESTION
            if request.json_schema is None and solving_blind(request):
                worked = "6 * 4 = 24 quarters, compounded"
                return defender_reply(QUESTION["reference_answer"], worked)
            if request.json_schema is None:  # the Defender answers in free text
                return defender_reply("1887.3", "1500 * 1.043 * 6")
            return judge_reply()
        """)
    )
    return target


def nanoflux_run(
    site: Path, tmp_path: Path, name: str, reference: str, tools: list[str]
) -> subprocess.CompletedProcess:
    """``nanoflux run`` of one round: the Attacker asks QUESTION with the program that
    computes ``reference``, and the blind solve reaches ``reference``."""
    model = "scripted:finance_round_models:model"
    config = tmp_path / f"{name}.toml"
    config.write_text(
        textwrap.dedent(f"""
        domain = "math"
        target = 1
        alternate = false
        attacker = {{ spec = "{model}" }}
        defender = {{ spec = "{model}" }}
        judge = {{ spec = "{model}" }}

        [budget]
        max_rounds = 1

        [novelty]
        embedder = "hashing"
        store = "memory"

        [acceptance]
        hops_min = 1

        [judging]
        tools = {json.dumps(tools)}
        """)
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "NANOFLUX_HOME": str(tmp_path / "home"),
        "FINANCE_QUESTION": json.dumps(
            {**QUESTION, "program": PROGRAMS[reference], "reference_answer": reference}
        ),
    }
    command = ["run", "--config", str(config), "--out", str(tmp_path / name), "--quiet"]
    return subprocess.run(
        [sys.executable, "-m", "nanoflux", *command], capture_output=True, text=True, env=env
    )


def first_candidate(
    site: Path, tmp_path: Path, name: str, reference: str, tools: list[str]
) -> dict:
    result = nanoflux_run(site, tmp_path, name, reference, tools)
    assert result.returncode == 0, result.stderr
    # the round's first attempt: what the Attacker asked (a repair turn may follow)
    first = (tmp_path / name / "candidates.jsonl").read_text().splitlines()[0]
    return json.loads(first)


def test_the_installed_example_changes_verdicts_in_real_runs(site, tmp_path):
    # compounded yearly: every math check passes (the program is the reference and the
    # solve reaches it); only the finance tool knows better
    alone = first_candidate(site, tmp_path, "alone", "1931.07", [])
    assert alone["decision"] == "accepted", alone

    caught = first_candidate(site, tmp_path, "caught", "1931.07", ["finance.compound_interest"])
    assert caught["reason"] == "unverified", caught
    # rejected before or after the Judge's rubric, the tool's evidence is on the line
    evidence = (caught.get("verdict") or {}).get("evidence") or caught["findings"]["evidence"]
    finance = [e for e in evidence if e["tool"] == "finance.compound_interest"]
    assert [e["supports_reference"] for e in finance] == [False]
    assert "gives 1938.84, which differs from the reference" in finance[0]["note"]

    helped = first_candidate(site, tmp_path, "helped", "1938.84", ["finance.compound_interest"])
    assert helped["decision"] == "accepted", helped
    assert helped["verdict"]["verified_by"] == "tools"
    program, steps, arithmetic, evidence = helped["verdict"]["evidence"]
    assert program["tool"] == "math.python" and program["supports_reference"] is True
    # the math pack's own step checks are consistent but confirm nothing: the tool does
    assert steps["tool"] == "math.steps" and steps["supports_reference"] is None
    assert arithmetic["tool"] == "math.arithmetic" and arithmetic["supports_reference"] is None
    assert evidence["tool"] == "finance.compound_interest"
    assert evidence["args"] == {
        "principal": 1500.0,
        "annual_rate": 0.043,
        "years": 6.0,
        "periods_per_year": 4,
    }
    assert evidence["result"]["value"] == pytest.approx(1938.84)
    assert evidence["supports_reference"] is True


def test_a_configured_tool_that_is_not_installed_stops_the_run(site, tmp_path):
    result = nanoflux_run(site, tmp_path, "typo", "1938.84", ["finance.compound_intrest"])
    assert result.returncode != 0
    assert "judging.tools: unknown judge tool 'finance.compound_intrest'" in result.stderr
    assert "Traceback" not in result.stderr
