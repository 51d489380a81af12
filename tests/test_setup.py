"""scripts/setup.sh, .ci/run and the README agree: one llama-cpp-python pin, one roster,
one test command (with doctor before pytest in CI)."""

from __future__ import annotations

import re
from pathlib import Path

from nanoflux_llamacpp import roster

ROOT = Path(__file__).resolve().parents[1]
SETUP = (ROOT / "scripts" / "setup.sh").read_text()


def shell_value(name: str) -> str:
    match = re.search(rf'^{name}="([^"]*)"', SETUP, re.M)
    assert match, f"setup.sh sets no {name}"
    return match[1]


def test_ci_runs_the_readme_test_command_with_doctor_before_pytest():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(scripts/setup\.sh && .*)\n```", readme)
    test_command = next(c for c in commands if c.endswith("-m pytest"))
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    # exactly the README's command, and it proves the parts run before the tests do
    assert ci == test_command
    assert test_command.split(" && ") == [
        "scripts/setup.sh",
        ".venv/bin/nanoflux doctor",
        ".venv/bin/python -m pytest",
    ]


def test_setup_builds_the_pinned_llama_cpp_python_portably():
    pyproject = (ROOT / "plugins" / "nanoflux-llamacpp" / "pyproject.toml").read_text()
    pinned = re.search(r'"llama-cpp-python\[server\]==([\d.]+)"', pyproject)
    assert pinned and shell_value("LLAMA_VERSION") == pinned[1]
    flags = shell_value("LLAMA_CMAKE_ARGS").split()
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_BACKEND_DL=ON" in flags
    assert "-DGGML_CPU_ALL_VARIANTS=ON" in flags
    # pip's wheel cache ignores CMAKE_ARGS: a cached native wheel must not come back
    assert "--no-cache-dir" in SETUP and "--no-binary llama-cpp-python" in SETUP


def test_setup_pulls_the_default_roster_and_ends_with_doctor():
    pulled = re.search(r"^ROSTER=\(([^)]*)\)", SETUP, re.M)
    assert pulled
    names = pulled[1].split()
    assert roster.DEFAULT in names and all(roster.get(name).parts for name in names)
    lines = SETUP.splitlines()
    install = max(i for i, line in enumerate(lines) if "install -e" in line)
    pull = lines.index('"$VENV/bin/nanoflux" models pull "${ROSTER[@]}"')
    doctor = lines.index('"$VENV/bin/nanoflux" doctor')
    stamp = lines.index('echo "$stamp_now" > "$VENV/.setup-stamp"')
    assert install < pull < doctor < stamp  # the stamp says doctor passed
