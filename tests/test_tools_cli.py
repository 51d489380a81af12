"""`nanoflux tools` from the command line, with the three domain packs installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

REQUIRED = {
    "math.python": {"code"},
    "math.equivalent": {"a", "b"},
    "genomics.reverse_complement": {"seq"},
    "genomics.gc_content": {"seq"},
    "genomics.translate": {"seq", "table"},
    "genomics.find_orfs": {"seq", "min_len"},
    "genomics.melting_temp": {"seq"},
    "medicine.bmi": {"weight_kg", "height_m"},
    "medicine.egfr_ckd_epi_2021": {"creatinine_mg_dl", "age", "sex"},
    "medicine.cockcroft_gault": {"age", "weight_kg", "creatinine_mg_dl", "sex"},
    "medicine.anion_gap": {"sodium", "chloride", "bicarbonate"},
    "medicine.corrected_calcium": {"calcium_mg_dl", "albumin_g_dl"},
    "medicine.convert": {"value", "from_unit", "to_unit", "analyte"},
}


def nanoflux(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NANOFLUX_LOAD_PLUGINS": "math,genomics,medicine"}
    return subprocess.run(
        [sys.executable, "-m", "nanoflux", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def call(tool_id: str, args: dict) -> tuple[int, dict]:
    done = nanoflux("tools", "call", tool_id, "--args", json.dumps(args))
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}


def test_list_json_has_every_required_tool_with_its_schema():
    done = nanoflux("tools", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["id"]: row for row in json.loads(done.stdout)}
    for tool_id, arguments in REQUIRED.items():
        assert tool_id in rows, tool_id
        assert rows[tool_id]["domain"] == tool_id.split(".")[0]
        assert rows[tool_id]["description"]
        assert arguments <= set(rows[tool_id]["schema"]["properties"]), tool_id


def test_list_text():
    done = nanoflux("tools", "list", "--domain", "medicine")
    assert done.returncode == 0
    assert "medicine.bmi {weight_kg, height_m}" in done.stdout
    assert "math." not in done.stdout


def test_call_prints_one_json_object():
    if shutil.which("bwrap") is None:  # installed by setup: then it must work
        pytest.skip("bubblewrap is not installed")
    code, result = call("math.python", {"code": "def solution():\n    return 6*7"})
    assert code == 0
    assert set(result) == {"ok", "value", "error", "seconds"}
    assert result["ok"] is True and result["value"] == 42


def test_a_failing_tool_still_exits_zero():
    code, result = call("genomics.hamming", {"a": "ACG", "b": "AC"})
    assert code == 0
    assert result["ok"] is False and "length" in result["error"]


def test_domain_tools_answer():
    assert call("genomics.reverse_complement", {"seq": "AAAACCCGGT"})[1]["value"] == "ACCGGGTTTT"
    bmi = call("medicine.bmi", {"weight_kg": 70, "height_m": 1.75})[1]["value"]
    assert bmi["value"] == pytest.approx(22.857, abs=0.001)
    assert call("math.equivalent", {"a": "50%", "b": "0.5"})[1]["value"]["equivalent"] is True


@pytest.mark.parametrize(
    "args",
    [
        ["tools", "call", "math.no_such_tool"],
        ["tools", "call", "medicine.bmi", "--args", '{"weight_kg": 70}'],
        ["tools", "call", "medicine.bmi", "--args", '{"weight_kg": 70, "height_m": 1.7, "x": 1}'],
        ["tools", "call", "medicine.bmi", "--args", "{not json"],
        ["tools", "call", "medicine.bmi", "--args", "[1, 2]"],
    ],
)
def test_usage_errors_exit_two_with_one_line(args):
    done = nanoflux(*args)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1
