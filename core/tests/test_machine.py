"""The machine's facts that set defaults: physical cores, counted the way llama.cpp does."""

import os

from nanoflux.machine import available_cpus, default_threads, physical_cores


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
