"""The machine's facts that set defaults: physical cores, counted the way llama.cpp does."""

import os
import shutil
import subprocess

import pytest

from nanoflux.machine import available_cpus, default_threads, physical_cores, source_revision


def topology(root, siblings_of):
    for cpu in os.sched_getaffinity(0):
        folder = root / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        (folder / "thread_siblings_list").write_text(siblings_of(cpu) + "\n")
    return root


def test_smt_siblings_count_as_one_core(tmp_path):
    # two hardware threads per core: cpu 2k and 2k+1 share one
    root = topology(tmp_path, lambda cpu: f"{cpu - cpu % 2}-{cpu - cpu % 2 + 1}")
    cpus = os.sched_getaffinity(0)
    assert physical_cores(root) == len({cpu // 2 for cpu in cpus})


def test_without_smt_every_cpu_is_a_core(tmp_path):
    root = topology(tmp_path, str)
    assert physical_cores(root) == available_cpus()


def test_a_machine_that_hides_its_topology_counts_each_cpu(tmp_path):
    assert physical_cores(tmp_path / "missing") == available_cpus()


def test_models_get_the_physical_cores_of_this_machine():
    assert default_threads() == physical_cores() >= 1
    assert physical_cores() <= available_cpus()


def test_the_source_revision_is_the_checkouts_commit_and_says_when_code_changed(tmp_path):
    """A run records the commit of the checkout NanoFlux runs from; a change to its code
    (not to an experiment's records beside it) is marked; a copy of the package that is
    not at core/src/nanoflux of its repository (a wheel inside a user's project) has
    none."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    package = repo / "core" / "src" / "nanoflux"
    package.mkdir(parents=True)
    (package / "machine.py").write_text("x = 1\n")
    (repo / "experiments").mkdir()
    (repo / "experiments" / "ledger.jsonl").write_text("{}\n")

    def git(*args):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    assert source_revision(package) is None  # not a repository yet
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert source_revision(package) == head
    (repo / "experiments" / "ledger.jsonl").write_text("{}\n{}\n")
    assert source_revision(package) == head
    (package / "machine.py").write_text("x = 2\n")
    assert source_revision(package) == head + "+changes"
    elsewhere = repo / "venv" / "site-packages" / "nanoflux"
    elsewhere.mkdir(parents=True)
    assert source_revision(elsewhere) is None
