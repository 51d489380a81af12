"""The retry policy and redaction on their own, without a server."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from nanoflux_openai.redact import redact
from nanoflux_openai.retry import RetryPolicy, parse_retry_after

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_retry_after_in_seconds_milliseconds_and_http_dates():
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": later}, now=NOW) == 30.0
    earlier = format_datetime(NOW - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": earlier}, now=NOW) == 0.0
    assert parse_retry_after({"retry-after": "-3"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None


def test_backoff_grows_exponentially_with_jitter_up_to_the_maximum():
    policy = RetryPolicy(base=1.0, maximum=10.0, retry_after_max=60.0, rng=random.Random(1))
    for attempt, ceiling in [(0, 1), (1, 2), (2, 4), (3, 8), (4, 10), (9, 10)]:
        waits = [policy.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 4  # jittered, not constant


def test_retry_after_wins_over_backoff_and_is_capped():
    policy = RetryPolicy(base=1.0, maximum=10.0, retry_after_max=60.0, rng=random.Random(2))
    assert 30 <= policy.delay(0, retry_after=30) <= 30.1
    assert 60 <= policy.delay(0, retry_after=3600) <= 60.1
    assert 0 <= policy.delay(5, retry_after=0) <= 0.1


def test_redaction_removes_the_key_and_anything_key_shaped():
    key = "sk-proj-abcdefghijklmnop1234"
    text = f"Incorrect API key provided: {key}. Or was it sk-ab****1234? Bearer tok123\n more"
    cleaned = redact(text, key)
    assert key not in cleaned and "abcdefgh" not in cleaned and "tok123" not in cleaned
    assert "\n" not in cleaned
    assert len(redact("x" * 1000, None)) == 300
