"""CONTRIBUTING.md's examples work exactly as written there: the custom judge tool, and
the domain of "Write a domain in 30 minutes"."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from nanoflux.plugins import PluginHost
from nanoflux.records import Question
from nanoflux.testing import JudgeToolContract, needs_sandbox

ROOT = Path(__file__).resolve().parents[1]


def contributing_example() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "judge_tool(" in b]
    return block


@pytest.fixture(scope="module")
def finance_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example")
    (folder / "nanoflux_finance.py").write_text(contributing_example())
    sys.path.insert(0, str(folder))
    try:
        import nanoflux_finance

        yield nanoflux_finance
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("nanoflux_finance", None)


@pytest.fixture
def host(finance_module):
    return PluginHost.load(allow=[], extra=[("finance", finance_module)])


def test_the_example_registers_and_runs(host):
    assert not host.errors
    tool = host.tools.get("finance.compound_interest")
    # Worked example: $1500 at 4.3 % compounded quarterly for 6 years is $1938.84
    # (the standard textbook compound-interest example).
    result = tool.call({"principal": 1500, "annual_rate": 0.043, "years": 6, "periods_per_year": 4})
    assert result.ok and result.value == pytest.approx(1938.84)


class TestFinanceToolContract(JudgeToolContract):
    registered_as = "finance.compound_interest"

    @pytest.fixture
    def tool(self, host):
        return host.tools.get("finance.compound_interest")

    @pytest.fixture
    def cases(self):
        return [
            # 1000 at 5 % yearly for 10 years: 1000 * 1.05**10 = 1628.89
            ({"principal": 1000, "annual_rate": 0.05, "years": 10}, 1628.89),
            # 100 at 0 %: unchanged
            ({"principal": 100, "annual_rate": 0.0, "years": 3}, 100.0),
        ]

    @pytest.fixture
    def invalid_args(self):
        return {"principal": -5, "annual_rate": 0.05, "years": 1}

    @pytest.fixture
    def applies_cases(self):
        asked = Question(
            text="Ben leaves 2,000 dollars at 6 % compounded monthly for 2.5 years. "
            "What is the account worth then?",
            hops=2,
            skill="compound_interest",
            reference_answer="2322.80",
            solution_steps=["2000 * (1 + 0.06 / 12) ** 30 = 2322.80"],
        )
        interest_only = asked.model_copy(
            update={
                "text": asked.text.replace(
                    "What is the account worth then?", "How much interest does it earn?"
                )
            }
        )
        arguments = {"principal": 2000.0, "annual_rate": 0.06, "years": 2.5, "periods_per_year": 12}
        return [(asked, arguments), (interest_only, None)]


# "Write a domain in 30 minutes": the guide is examples/nanoflux-units, file for file;
# the example, installed by pip, passes its own tests, the guide's commands run on it,
# and it plays a round of `nanoflux run`.

EXAMPLE = ROOT / "examples" / "nanoflux-units"
BUILT = ("__pycache__", ".pytest_cache", "build")  # what building or testing leaves there
# the scripted models of a round: the Attacker writes PROBLEM; the Judge's blind solve
# reaches the program's value; the Defender divides where it should multiply
ROUND_MODELS = """
import json, os

from nanoflux.default_plugins.scripted import (
    attacking, defender_reply, judge_reply, program_reply, solving_blind,
)

PROBLEM = json.loads(os.environ["UNITS_PROBLEM"])


def model(request):
    if attacking(request):
        return program_reply(PROBLEM["text"], PROBLEM["program"])
    if request.json_schema is None and solving_blind(request):
        return defender_reply(PROBLEM["value"], "miles times the kilometres in a mile")
    if request.json_schema is None:
        return defender_reply("1.86", "3 / 1.609")
    return judge_reply()
"""
# novelty in memory, one round: what `nanoflux run` adds to the guide's line in a test
SMOKE = """
[budget]
max_rounds = 1

[novelty]
embedder = "hashing"
store = "memory"
"""


def domain_guide() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    start = text.index("## Write a domain in 30 minutes")
    return text[start : text.index("\n## ", start + 1)]


def guide_files() -> dict[str, str]:
    """The files the guide's titled blocks make. A file shown in several blocks is its
    blocks in order, joined by the two blank lines between top-level definitions."""
    parts = defaultdict(list)
    for path, body in re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', domain_guide(), re.S):
        parts[path].append(body)
    return {path: "\n\n".join(bodies) for path, bodies in parts.items()}


def example_files() -> dict[str, str]:
    return {
        path.relative_to(EXAMPLE).as_posix(): path.read_text()
        for path in EXAMPLE.rglob("*")
        if path.is_file()
        and not any(part in BUILT or part.endswith(".egg-info") for part in path.parts)
    }


def guide_command(start: str) -> list[str]:
    """The guide's command line that starts with ``start``, as its words."""
    (block,) = re.findall(r"```bash\n(.*?)```", domain_guide(), re.S)
    (line,) = [line for line in block.splitlines() if line.startswith(start)]
    return shlex.split(line)


def pip_install(source: Path, target: Path) -> None:
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--no-build-isolation", "--target", str(target), str(source)], check=True)


def copy_example(folder: Path) -> Path:
    return Path(
        shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(*BUILT, "*.egg-info"))
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example installed by pip as a wheel would install it (not editable: an
    editable install finds the prompts in the source tree whatever pyproject says)."""
    target = tmp_path_factory.mktemp("site")
    pip_install(copy_example(tmp_path_factory.mktemp("source") / "nanoflux-units"), target)
    (target / "units_round_models.py").write_text(ROUND_MODELS)
    return target


def run_on_site(site: Path, tmp_path: Path, words: list[str], **env: str):
    """``nanoflux ...`` or ``python ...`` from the guide, as a user would run it in the
    repository root with the example installed."""
    program = [sys.executable] if words[0] == "python" else [sys.executable, "-m", "nanoflux"]
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [*program, *words[1:]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path, "NANOFLUX_HOME": str(tmp_path / "home"), **env},
    )


def test_the_domain_guide_is_the_example_package():
    shown, example = guide_files(), example_files()
    # every file but the README, which says what the pack is in its own words
    assert sorted(set(example) - set(shown)) == ["README.md"]
    for path, text in shown.items():
        assert text == example[path], f"CONTRIBUTING.md's block for {path} differs from it"
    python = shown["src/nanoflux_units/__init__.py"]
    claimed = re.search(r"in (\d+) lines of Python", domain_guide())
    assert claimed and int(claimed[1]) == len(python.splitlines())


def test_the_guide_installs_the_prompts_as_package_data(site, tmp_path):
    assert guide_command("pip ") == ["pip", "install", "-e", "examples/nanoflux-units"]
    prompts = site / "nanoflux_units" / "prompts"
    assert sorted(p.name for p in prompts.iterdir()) == [
        "attacker.txt",
        "defender.txt",
        "judge.txt",
    ]
    # without [tool.setuptools.package-data], what a wheel installs has no prompts
    bare = copy_example(tmp_path / "bare")
    pyproject = (bare / "pyproject.toml").read_text()
    (bare / "pyproject.toml").write_text(
        pyproject[: pyproject.index("[tool.setuptools.package-data]")]
    )
    pip_install(bare, tmp_path / "bare-site")
    assert (tmp_path / "bare-site" / "nanoflux_units" / "__init__.py").is_file()
    assert not (tmp_path / "bare-site" / "nanoflux_units" / "prompts").exists()


def test_the_example_passes_its_tests_once_installed(site, tmp_path):
    """Its DomainContract and JudgeToolContracts, on the pack its entry point loads."""
    words = guide_command("python -m pytest")
    done = run_on_site(site, tmp_path, [*words, "-q", "-p", "no:cacheprovider"])
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed[1]) >= 20, done.stdout
    if shutil.which("bwrap"):  # the contract's sandboxed tests ran, none skipped
        assert "skipped" not in done.stdout, done.stdout


def test_the_guide_commands_run_on_the_installed_example(site, tmp_path):
    call = run_on_site(site, tmp_path, guide_command("nanoflux tools call"))
    assert call.returncode == 0, call.stderr
    assert json.loads(call.stdout)["value"] == pytest.approx(4.828032)
    inspect = run_on_site(site, tmp_path, [*guide_command("nanoflux data inspect"), "--json"])
    assert inspect.returncode == 0, inspect.stderr
    assert "units-sample-1" in inspect.stdout and "Convert 3 miles to kilometres." in inspect.stdout


def play_a_round(site: Path, tmp_path: Path, name: str, program: str, value: str) -> dict:
    """The guide's ``nanoflux run`` line, every MODEL scripted, for one round whose
    Attacker asks to convert 3 miles to kilometres with ``program``."""
    config = tmp_path / "smoke.toml"
    config.write_text(SMOKE)
    model = "scripted:units_round_models:model"
    words = [model if word == "MODEL" else word for word in guide_command("nanoflux run")]
    words += ["--config", str(config), "--out", str(tmp_path / name), "--quiet"]
    problem = {"text": "Convert 3 miles to kilometres.", "program": program, "value": value}
    done = run_on_site(site, tmp_path, words, UNITS_PROBLEM=json.dumps(problem))
    assert done.returncode == 0, done.stderr
    # the round's first attempt (a repair turn may follow a rejected one)
    return json.loads((tmp_path / name / "candidates.jsonl").read_text().splitlines()[0])


@needs_sandbox
def test_a_round_of_the_example_domain(site, tmp_path):
    program = "def solution():\n    km = 3 * 1.609344\n    return round(km, 2)\n"
    right = play_a_round(site, tmp_path, "right", program, "4.83")
    assert right["decision"] == "accepted", right
    assert right["verdict"]["verified_by"] == "tools"
    evidence = {e["tool"]: e for e in right["verdict"]["evidence"]}
    assert set(evidence) == {"units.python", "units.convert"}
    assert all(e["supports_reference"] is True for e in evidence.values())
    assert evidence["units.convert"]["args"] == {
        "amount": 3.0,
        "source": "miles",
        "target": "kilometres",
    }

    # nautical miles: the program is its own reference and the blind solve reaches it;
    # only the field's tool knows what a mile is
    nautical = program.replace("1.609344", "1.852")
    caught = play_a_round(site, tmp_path, "nautical", nautical, "5.56")
    assert caught["reason"] == "unverified", caught
    evidence = (caught.get("verdict") or {}).get("evidence") or caught["findings"]["evidence"]
    (convert,) = [e for e in evidence if e["tool"] == "units.convert"]
    assert convert["supports_reference"] is False
    assert "gives 4.828032, which differs from the reference" in convert["note"]


def test_the_guide_says_how_big_the_real_packs_are():
    """The guide explains what the real packs add beyond the example, and how big they are."""
    sizes = {
        pack.name: sum(len(p.read_text().splitlines()) for p in (pack / "src").rglob("*.py"))
        for pack in (ROOT / "domains").iterdir()
        if (pack / "src").is_dir()
    }
    claimed = re.search(r"are ([\d,]+) to ([\d,]+) lines of Python each", domain_guide())
    low, high = (int(n.replace(",", "")) for n in claimed.groups())
    assert low <= min(sizes.values()) and max(sizes.values()) <= high, sizes
    assert min(sizes, key=sizes.get) == "nanoflux-genomics"
    assert max(sizes, key=sizes.get) == "nanoflux-medicine"
