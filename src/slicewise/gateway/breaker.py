"""Circuit breakers: stop calling a model that keeps failing, and probe it again later.

One ``Breaker`` per model (``provider/model``), kept by a ``Breakers`` registry::

    closed ──(``failures`` failures in a row within ``window`` s)──> open
      ^                                                               │ ``cooldown`` s
      │                                                               v
      └───────────── the probe succeeds ───────────────────────── half-open
                     the probe fails: open again, for another ``cooldown``

In half-open exactly one call (the probe) is let through at a time. A probe that never reports
(its caller was cancelled and forgot ``release``) is given up after ``cooldown`` seconds, so a
lost probe cannot shut a model out for good.

Which outcomes count (``record`` applies this; ``unhealthy`` is the test):

- a failure: 5xx, 408, timeouts, connection errors, protocol errors: the model is unwell;
- neither: 429. Rate limiting says the model is busy for us, not broken. A ``Retry-After``
  holds the model back for that long (at most ``max_hold``), shown as ``throttled``;
- a success: an answer, and also any other 4xx: the upstream answered coherently, the fault is
  the request's or the credentials' (those are configuration errors, not circuit business).

A success resets the count, so a busy model with a low, steady error rate never trips: the
breaker reacts to outages, not to noise. A model failing every other call stays closed;
catching that needs a failure ratio over a minimum volume, which this does not do yet.

Everything is synchronous, so on one event loop no lock is needed: nothing awaits between
``available`` and ``allow``, or between ``allow`` and the state change it makes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from enum import StrEnum

from slicewise.errors import ConfigError, UpstreamError, UpstreamStatus

Clock = Callable[[], float]


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"
    THROTTLED = "throttled"
    """Closed, but the provider asked (429 with ``Retry-After``) to wait before the next call."""


def unhealthy(error: UpstreamError) -> bool:
    """Whether ``error`` says the model is unwell (and so counts against its breaker)."""
    if isinstance(error, UpstreamStatus):
        return error.status >= 500 or error.status == 408
    return True


class Breaker:
    """The circuit breaker of one model; see the module docstring for the rules."""

    def __init__(
        self,
        failures: int = 5,
        window: float = 30.0,
        cooldown: float = 15.0,
        clock: Clock = time.monotonic,
        max_hold: float = 60.0,
    ) -> None:
        _check(failures, window, cooldown, max_hold)
        self.failures = failures
        self.window = window
        self.cooldown = cooldown
        self.max_hold = max_hold
        self._clock = clock
        self._failed: deque[float] = deque(maxlen=failures)
        self._opened_at: float | None = None
        self._probe_at: float | None = None
        self._held_until = -math.inf

    @property
    def state(self) -> State:
        now = self._clock()
        if self._opened_at is not None:
            return State.OPEN if self._cooling(now) else State.HALF_OPEN
        return State.THROTTLED if now < self._held_until else State.CLOSED

    def ready(self) -> bool:
        """Whether ``allow`` would say yes now; unlike it, this never takes the probe."""
        return self._ready(self._clock())

    def allow(self) -> bool:
        """Whether to call the model now; in half-open a yes is the probe, so report back."""
        now = self._clock()
        if not self._ready(now):
            return False
        if self._opened_at is not None:
            self._probe_at = now
        return True

    def success(self) -> None:
        """A call answered. Closes a half-open breaker; ignored while open (a late answer)."""
        if self._opened_at is not None and self._cooling(self._clock()):
            return
        self._failed.clear()
        self._opened_at = None
        self._probe_at = None

    def failure(self) -> None:
        """A call found the model unwell. Opens the breaker on the last straw or a failed probe."""
        now = self._clock()
        if self._opened_at is not None:
            if not self._cooling(now):
                self._open(now)
            return
        self._failed.append(now)
        if len(self._failed) == self.failures and now - self._failed[0] <= self.window:
            self._open(now)

    def release(self) -> None:
        """A call ended without a verdict (cancelled, throttled): free the probe for another."""
        self._probe_at = None

    def hold(self, seconds: float) -> None:
        """Let no call through for ``seconds`` (at most ``max_hold``), as a 429 asked."""
        until = self._clock() + min(max(seconds, 0.0), self.max_hold)
        self._held_until = max(self._held_until, until)
        self.release()

    def record(self, error: UpstreamError | None) -> None:
        """Report how a call ended: ``None`` for an answer, else the error it raised."""
        if error is None:
            self.success()
        elif isinstance(error, UpstreamStatus) and error.status == 429:
            self.hold(error.retry_after or 0.0)
        elif unhealthy(error):
            self.failure()
        else:
            self.success()

    def _ready(self, now: float) -> bool:
        if now < self._held_until:
            return False
        if self._opened_at is None:
            return True
        if self._cooling(now):
            return False
        return self._probe_at is None or now - self._probe_at >= self.cooldown

    def _cooling(self, now: float) -> bool:
        return self._opened_at is not None and now - self._opened_at < self.cooldown

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_at = None
        self._failed.clear()


class Breakers:
    """One breaker per model, made on first use, all with the same settings."""

    def __init__(
        self,
        failures: int = 5,
        window: float = 30.0,
        cooldown: float = 15.0,
        clock: Clock = time.monotonic,
        max_hold: float = 60.0,
    ) -> None:
        _check(failures, window, cooldown, max_hold)
        self._settings = (failures, window, cooldown, clock, max_hold)
        self._breakers: dict[str, Breaker] = {}

    def __getitem__(self, model: str) -> Breaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            breaker = self._breakers[model] = Breaker(*self._settings)
        return breaker

    def available(self, models: Iterable[str]) -> list[str]:
        """The models, in the given order, whose breaker would let a call through now.

        A peek: it takes no half-open probe. Call ``allow`` on the one model about to be called.
        """
        return [model for model in models if self[model].ready()]

    def allow(self, model: str) -> bool:
        return self[model].allow()

    def record(self, model: str, error: UpstreamError | None) -> None:
        """Report how a call of ``model`` ended; see ``Breaker.record``."""
        self[model].record(error)

    def success(self, model: str) -> None:
        self[model].record(None)

    def failure(self, model: str, error: UpstreamError) -> None:
        """A call of ``model`` raised ``error``; whether it counts is ``Breaker.record``'s rule."""
        self[model].record(error)

    def states(self) -> dict[str, str]:
        """Each model seen so far and its breaker's state, for metrics and ``/healthz``."""
        return {model: str(breaker.state) for model, breaker in sorted(self._breakers.items())}


def _check(failures: int, window: float, cooldown: float, max_hold: float) -> None:
    if failures < 1:
        raise ConfigError(f"breaker failures is {failures}: use 1 or more failures in a row")
    for name, value in (("window", window), ("cooldown", cooldown), ("max_hold", max_hold)):
        if not value >= 0:
            raise ConfigError(f"breaker {name} is {value}: use seconds >= 0")
