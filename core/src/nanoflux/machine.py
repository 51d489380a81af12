"""The machine NanoFlux runs on: its CPUs and its clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime


def available_cpus() -> int:
    """The CPUs this process may use (a container's share, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Half the CPUs, for a compute library inside a run (llama.cpp, ONNX Runtime).

    A run shares the machine between the models, the embedder, the judge's sandbox and
    the engine, and these libraries' threads spin while they wait for each other: asking
    for a busy core costs more than it gives. On a 2-core machine with one core busy we
    measured 100 llama.cpp tokens in 2.1 s with 1 thread and 10-19 s with 2, and one
    fastembed question in 20 ms with 1 thread and 47 ms with 2. Half is also
    llama-cpp-python's own rule (the physical cores on a hyperthreaded machine).
    """
    return max(1, available_cpus() // 2)


def utc_now() -> str:
    """Now, in UTC, to the second: the timestamps of manifests and markers."""
    return datetime.now(UTC).isoformat(timespec="seconds")
