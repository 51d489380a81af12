"""``nanoflux bench tools``: what a judge pays per math tool call."""

from __future__ import annotations

import statistics
import time

from .answers import equivalent


def measure(options: dict[str, str]) -> dict:
    """Sandbox round trip of a trivial program vs. the same computation in-process, and
    answer comparisons per second (numbers, and expressions that need sympy)."""
    from nanoflux.sandbox import run_python

    runs = int(options.get("runs", 5))
    program = "def solution():\n    return sum(range(1, 101))"
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run_python(program)
        latencies.append(time.perf_counter() - started)
        assert result.value == 5050, result
    pairs = [("1,234", "1234"), ("50%", "0.5"), ("\\frac{3}{4}", "0.75")]
    symbolic = [("2\\sqrt{3}", "\\sqrt{12}"), ("x^2+2x+1", "(x+1)^2")]
    equivalent(*symbolic[0])  # import sympy outside the timing

    def rate(cases: list[tuple[str, str]], rounds: int) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            for a, b in cases:
                equivalent(a, b)
        return rounds * len(cases) / (time.perf_counter() - started)

    return {
        "math.python_seconds_median": round(statistics.median(latencies), 4),
        "math.python_runs": runs,
        "math.equivalent_numeric_per_second": round(rate(pairs, 200)),
        "math.equivalent_symbolic_per_second": round(rate(symbolic, 20)),
    }
