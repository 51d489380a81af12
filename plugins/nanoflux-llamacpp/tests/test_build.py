"""The llama.cpp build: portable, recorded, and its CPU variant chosen with AMX held back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from nanoflux_llamacpp import build
from nanoflux_llamacpp.build import Variant

from nanoflux.errors import ConfigError


def test_the_installed_llama_cpp_python_is_a_recorded_portable_build():
    """Fails when a -march=native build (pip's default) slips back into the venv."""
    described = build.describe()
    assert described["portable"], described["problem"]
    record = described["record"]
    assert record["native"] is False and "-DGGML_NATIVE=OFF" in record["cmake_args"]
    assert build.installed_wheel_sha256() == record["wheel_sha256"]
    if record["backend_dl"]:  # runtime dispatch: the variants are installed, as recorded
        assert sorted(described["variants"]) == sorted(record["variants"])
        assert {"x64", "haswell", "sapphirerapids"} <= set(record["variants"])


def test_a_missing_or_native_record_is_a_problem():
    assert "no build record" in build.build_problem(None, "0.3.36", [])
    native = {"llama_cpp_python": "0.3.36", "native": True, "cmake_args": ""}
    assert "GGML_NATIVE=ON" in build.build_problem(native, "0.3.36", [])
    other = {"llama_cpp_python": "0.3.2", "native": False}
    assert "is installed" in build.build_problem(other, "0.3.36", [])
    dl = {"llama_cpp_python": "0.3.36", "native": False, "backend_dl": True, "wheel_sha256": "a"}
    assert "none are installed" in build.build_problem(dl, "0.3.36", [], "a")
    assert build.build_problem(dl, "0.3.36", ["x64", "haswell"], "a") is None
    # the same version rebuilt by pip (from the sdist, natively) is not the recorded wheel
    assert "not the wheel" in build.build_problem(dl, "0.3.36", ["x64"], None)


CANDIDATES = [
    Variant("sapphirerapids", Path("spr.so"), 120, amx=True),
    Variant("icelake", Path("icl.so"), 100, amx=False),
    Variant("haswell", Path("hsw.so"), 60, amx=False),
    Variant("zen4", Path("zen4.so"), 0, amx=False),  # this CPU cannot run it
    Variant("x64", Path("x64.so"), 1, amx=False),
]


def test_the_best_variant_without_amx_is_chosen_by_default():
    assert build.choose(CANDIDATES, "").name == "icelake"
    assert build.choose(CANDIDATES, "auto").name == "icelake"


def test_a_variant_can_be_named_amx_included():
    assert build.choose(CANDIDATES, "sapphirerapids").name == "sapphirerapids"
    assert build.choose(CANDIDATES, "x64").name == "x64"
    with pytest.raises(ConfigError, match="this CPU cannot run that variant"):
        build.choose(CANDIDATES, "zen4")
    with pytest.raises(ConfigError, match=r"no such llama\.cpp CPU variant"):
        build.choose(CANDIDATES, "pentium")


def test_variant_scores_on_this_cpu_and_the_loaded_one():
    """In a child process: the variant that ggml loads is the one we chose."""
    if not build.variant_paths():
        pytest.skip("llama-cpp-python was built without runtime CPU dispatch")
    code = (
        "from nanoflux_llamacpp import build\n"
        "found = build.variants()\n"
        "print(found[0].score > 0, build.choose(found).name, build.load_cpu_backend())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runnable, chosen, loaded = done.stdout.split()
    assert runnable == "True" and chosen == loaded
    scores = {v.name: v.score for v in build.variants()}
    assert scores["x64"] > 0  # every x86-64 runs the baseline


def test_an_unknown_variant_name_is_one_clear_error(monkeypatch):
    if not build.variant_paths():
        pytest.skip("llama-cpp-python was built without runtime CPU dispatch")
    code = (
        "from nanoflux_llamacpp import build\n"
        "from nanoflux.errors import ConfigError\n"
        "try:\n"
        "    build.load_cpu_backend()\n"
        "except ConfigError as exc:\n"
        "    print(exc.one_line())\n"
    )
    env = {**__import__("os").environ, build.VARIANT_VARIABLE: "pentium"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "NANOFLUX_GGML_CPU=pentium: no such llama.cpp CPU variant" in done.stdout
