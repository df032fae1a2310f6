from __future__ import annotations

import pytest

from slicewise.errors import (
    ConfigError,
    UpstreamConnection,
    UpstreamError,
    UpstreamProtocol,
    UpstreamStatus,
    UpstreamTimeout,
)
from slicewise.gateway.breaker import Breaker, Breakers, State, unhealthy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def http(code: int, retry_after: float | None = None) -> UpstreamStatus:
    return UpstreamStatus("p", code, "scripted", retry_after)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> Breaker:
    return Breaker(failures=3, window=10.0, cooldown=5.0, clock=clock)


def trip(breaker: Breaker) -> None:
    for _ in range(breaker.failures):
        breaker.failure()


def test_starts_closed_and_lets_calls_through(breaker: Breaker) -> None:
    assert breaker.state == State.CLOSED
    assert all(breaker.allow() for _ in range(10))


def test_opens_after_enough_failures_in_a_row(breaker: Breaker) -> None:
    breaker.failure()
    breaker.failure()
    assert breaker.state == State.CLOSED
    breaker.failure()
    assert breaker.state == State.OPEN
    assert not breaker.allow()
    assert not breaker.ready()


def test_a_success_resets_the_count(breaker: Breaker) -> None:
    for _ in range(10):
        breaker.failure()
        breaker.failure()
        breaker.success()
    assert breaker.state == State.CLOSED


def test_failures_spread_wider_than_the_window_do_not_open(breaker: Breaker, clock: Clock) -> None:
    for _ in range(6):
        breaker.failure()
        clock.advance(6.0)
    assert breaker.state == State.CLOSED
    breaker.failure()
    clock.advance(4.0)
    breaker.failure()
    assert breaker.state == State.OPEN


def test_half_open_after_cooldown_lets_one_probe_through(breaker: Breaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(4.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state == State.HALF_OPEN
    assert breaker.ready()
    assert breaker.allow()
    assert not breaker.allow()
    assert not breaker.ready()
    assert breaker.state == State.HALF_OPEN


def test_a_successful_probe_closes(breaker: Breaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    breaker.success()
    assert breaker.state == State.CLOSED
    assert breaker.allow()
    assert breaker.allow()
    breaker.failure()
    breaker.failure()
    assert breaker.state == State.CLOSED


def test_a_failed_probe_opens_for_another_cooldown(breaker: Breaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    clock.advance(1.0)
    breaker.failure()
    assert breaker.state == State.OPEN
    clock.advance(4.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()


def test_released_probe_lets_another_through(breaker: Breaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()
    assert breaker.state == State.HALF_OPEN


def test_a_lost_probe_is_given_up_after_a_cooldown(breaker: Breaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    clock.advance(4.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()


def test_late_outcomes_while_open_change_nothing(breaker: Breaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(1.0)
    breaker.success()
    breaker.failure()
    assert breaker.state == State.OPEN
    clock.advance(4.0)
    assert breaker.state == State.HALF_OPEN


@pytest.mark.parametrize(
    "error",
    [
        http(500),
        http(502),
        http(503),
        http(529),
        http(408),
        UpstreamTimeout("p", "slow"),
        UpstreamConnection("p", "refused"),
        UpstreamProtocol("p", "bad JSON"),
    ],
)
def test_unhealthy_errors_count(breaker: Breaker, error: UpstreamError) -> None:
    assert unhealthy(error)
    for _ in range(3):
        breaker.record(error)
    assert breaker.state == State.OPEN


@pytest.mark.parametrize("code", [400, 401, 403, 404, 413, 422])
def test_client_errors_do_not_count_and_close_a_probe(
    breaker: Breaker, clock: Clock, code: int
) -> None:
    assert not unhealthy(http(code))
    for _ in range(5):
        breaker.record(http(code))
    assert breaker.state == State.CLOSED
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    breaker.record(http(code))
    assert breaker.state == State.CLOSED


def test_rate_limits_do_not_count(breaker: Breaker) -> None:
    for _ in range(10):
        breaker.record(http(429))
    assert breaker.state == State.CLOSED
    assert breaker.allow()


def test_retry_after_holds_the_model_back(breaker: Breaker, clock: Clock) -> None:
    breaker.record(http(429, retry_after=2.0))
    assert breaker.state == State.THROTTLED
    assert not breaker.allow()
    clock.advance(2.0)
    assert breaker.state == State.CLOSED
    assert breaker.allow()


def test_holds_are_capped(clock: Clock) -> None:
    breaker = Breaker(clock=clock, max_hold=30.0)
    breaker.record(http(429, retry_after=3600.0))
    clock.advance(30.0)
    assert breaker.allow()


def test_a_throttled_probe_is_released(breaker: Breaker, clock: Clock) -> None:
    trip(breaker)
    clock.advance(5.0)
    assert breaker.allow()
    breaker.record(http(429, retry_after=1.0))
    assert not breaker.allow()
    clock.advance(1.0)
    assert breaker.state == State.HALF_OPEN
    assert breaker.allow()


def test_record_none_is_a_success(breaker: Breaker) -> None:
    breaker.failure()
    breaker.failure()
    breaker.record(None)
    breaker.failure()
    assert breaker.state == State.CLOSED


def test_registry_keeps_one_breaker_per_model(clock: Clock) -> None:
    breakers = Breakers(failures=2, cooldown=5.0, clock=clock)
    assert breakers["a/x"] is breakers["a/x"]
    breakers.record("a/x", http(503))
    breakers.record("a/x", http(503))
    breakers.record("b/y", http(503))
    assert breakers.available(["a/x", "b/y", "c/z"]) == ["b/y", "c/z"]
    assert not breakers.allow("a/x")
    assert breakers.states() == {"a/x": "open", "b/y": "closed", "c/z": "closed"}


def test_registry_success_and_failure_classify_the_error(clock: Clock) -> None:
    breakers = Breakers(failures=1, clock=clock)
    breakers.failure("m", http(400))
    assert breakers.states() == {"m": "closed"}
    breakers.failure("m", http(429, retry_after=1.0))
    assert breakers.states() == {"m": "throttled"}
    clock.advance(1.0)
    breakers.failure("m", http(500))
    assert breakers.states() == {"m": "open"}
    clock.advance(15.0)
    assert breakers.allow("m")
    breakers.success("m")
    assert breakers.states() == {"m": "closed"}


def test_available_takes_no_probe(clock: Clock) -> None:
    breakers = Breakers(failures=1, cooldown=5.0, clock=clock)
    breakers.record("m", UpstreamTimeout("p", "slow"))
    clock.advance(5.0)
    assert breakers.available(["m"]) == ["m"]
    assert breakers.available(["m"]) == ["m"]
    assert breakers.allow("m")
    assert breakers.available(["m"]) == []
    assert breakers.states() == {"m": "half-open"}
    breakers.record("m", None)
    assert breakers.states() == {"m": "closed"}


@pytest.mark.parametrize(
    "options",
    [
        {"failures": 0},
        {"window": -1.0},
        {"cooldown": -0.5},
        {"max_hold": float("nan")},
    ],
)
def test_bad_settings_say_what_is_allowed(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="use"):
        Breaker(**options)
    with pytest.raises(ConfigError, match="use"):
        Breakers(**options)
