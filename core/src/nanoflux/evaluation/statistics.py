"""Statistics for benchmark accuracy: intervals, paired tests, agreement of two harnesses."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054  # two-sided 95 % normal quantile
BOOTSTRAP_RESAMPLES = 10_000


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (no continuity correction)."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} is outside 0..{n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # at 0 or n successes one bound is exact (0 or 1): rounding must not move it past p
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    Under the null each discordant pair is a fair coin: p = 2 * P(X <= min(b, c)),
    X ~ Binomial(b + c, 1/2), capped at 1. Integer arithmetic keeps it exact.
    """
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap(
    model: Sequence[bool],
    baseline: Sequence[bool],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[tuple[float, float], float]:
    """95 % percentile interval of accuracy(model) - accuracy(baseline), and a two-sided
    p-value: how often the resampled difference, centred on the observed one, is at
    least as far from zero as the observed difference (Berg-Kirkpatrick et al., 2012)."""
    import numpy as np

    if len(model) != len(baseline):
        raise ValueError("paired samples must have the same length")
    n = len(model)
    if n == 0:
        return (0.0, 0.0), 1.0
    diff = np.asarray(model, dtype=float) - np.asarray(baseline, dtype=float)
    observed = diff.mean()
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    if observed == 0:
        p_value = 1.0
    else:
        p_value = float(np.mean(np.abs(means - observed) >= abs(observed) - 1e-12))
    return (float(low), float(high)), p_value


def difference_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """95 % interval of p1 - p2 for two independent proportions: Newcombe's hybrid score
    method (1998, method 10), built from the two Wilson intervals; sound at 0 % and 100 %."""
    p1, p2 = (k1 / n1 if n1 else 0.0), (k2 / n2 if n2 else 0.0)
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def agree_within_noise(k1: int, k2: int, n: int) -> bool:
    """Whether two accuracies on ``n`` items differ by no more than binomial noise: the 95 %
    interval of their difference (as if independent samples) contains zero."""
    low, high = difference_interval(k1, n, k2, n)
    return low <= 0 <= high
