from __future__ import annotations

import random

import pytest

from slicewise.errors import (
    ConfigError,
    UpstreamConnection,
    UpstreamError,
    UpstreamProtocol,
    UpstreamStatus,
    UpstreamTimeout,
)
from slicewise.gateway.retry import RetryPolicy, retryable


def http(code: int, retry_after: float | None = None) -> UpstreamStatus:
    return UpstreamStatus("p", code, "scripted", retry_after)


SERVER_ERROR = http(503)


def policy(**options: object) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(7), **options)


@pytest.mark.parametrize(
    "error",
    [
        http(429),
        http(500),
        http(502),
        http(503),
        http(504),
        http(529),
        http(408),
        UpstreamTimeout("p", "slow"),
        UpstreamConnection("p", "refused"),
        UpstreamProtocol("p", "bad JSON"),
    ],
)
def test_transient_errors_are_retryable(error: UpstreamError) -> None:
    assert retryable(error)
    assert policy().delay(1, error) is not None


@pytest.mark.parametrize("code", [400, 401, 403, 404, 413, 422])
def test_client_errors_are_final(code: int) -> None:
    assert not retryable(http(code))
    assert policy().delay(1, http(code)) is None


def test_an_adapter_can_mark_one_error_final() -> None:
    error = UpstreamProtocol("p", "the stream broke after the first byte")
    error.retryable = False
    assert policy().delay(1, error) is None


def test_attempts_count_the_first_call() -> None:
    three = policy(attempts=3)
    assert three.delay(1, SERVER_ERROR) is not None
    assert three.delay(2, SERVER_ERROR) is not None
    assert three.delay(3, SERVER_ERROR) is None
    assert policy(attempts=1).delay(1, SERVER_ERROR) is None


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    flat = policy(base=0.1, cap=0.5, jitter="none", attempts=10)
    waits = [flat.delay(n, SERVER_ERROR) for n in range(1, 6)]
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert flat.backoff(10_000) == 0.5


@pytest.mark.parametrize(("jitter", "low_share"), [("full", 0.0), ("equal", 0.5)])
def test_jitter_stays_within_its_range(jitter: str, low_share: float) -> None:
    jittered = policy(base=1.0, cap=8.0, jitter=jitter, attempts=100)
    for attempt in range(1, 8):
        ceiling = min(8.0, 2.0 ** (attempt - 1))
        waits = [jittered.backoff(attempt) for _ in range(200)]
        assert min(waits) >= low_share * ceiling
        assert max(waits) <= ceiling
        assert len(set(waits)) > 100


def test_a_seeded_rng_makes_jitter_reproducible() -> None:
    first = [policy().delay(2, SERVER_ERROR) for _ in range(3)]
    again = [policy().delay(2, SERVER_ERROR) for _ in range(3)]
    assert first == again
    assert len(set(first)) == 1


def test_retry_after_replaces_the_backoff() -> None:
    assert policy(base=0.1).delay(1, http(429, retry_after=2.5)) == 2.5
    assert policy(base=5.0, cap=5.0).delay(1, http(503, retry_after=0.0)) == 0.0


def test_a_long_retry_after_means_fall_back_instead() -> None:
    capped = policy(max_retry_after=10.0)
    assert capped.delay(1, http(429, retry_after=10.0)) == 10.0
    assert capped.delay(1, http(429, retry_after=11.0)) is None


def test_no_wait_that_would_use_up_the_deadline() -> None:
    flat = policy(base=1.0, jitter="none")
    assert flat.delay(1, SERVER_ERROR, remaining=1.5) == 1.0
    assert flat.delay(1, SERVER_ERROR, remaining=1.0) is None
    assert flat.delay(1, http(429, retry_after=3.0), remaining=2.0) is None
    assert flat.delay(1, SERVER_ERROR, remaining=-1.0) is None


@pytest.mark.parametrize(
    "options",
    [
        {"attempts": 0},
        {"base": -1.0},
        {"base": 2.0, "cap": 1.0},
        {"jitter": "decorrelated"},
        {"max_retry_after": -1.0},
    ],
)
def test_bad_settings_say_what_is_allowed(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="use"):
        RetryPolicy(**options)


def test_policies_are_frozen_values() -> None:
    assert RetryPolicy() == RetryPolicy(rng=random.Random(1))
    with pytest.raises(AttributeError):
        RetryPolicy().attempts = 5
