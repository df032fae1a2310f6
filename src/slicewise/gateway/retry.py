"""When to try a failed upstream call again, and how long to wait first.

``RetryPolicy`` is pure: it sleeps nowhere and calls nothing. The dispatcher asks it, after each
failed attempt, for the pause before the next one; ``None`` means stop retrying this model
(fall back to the next one, or give up). The wait grows exponentially from ``base`` up to
``cap``, randomised ("full" jitter: anywhere in ``[0, wait]``; "equal": in ``[wait/2, wait]``)
so that many gateways retrying at once do not hit the provider together.

A ``Retry-After`` from the provider replaces the computed wait. If it asks for more than
``max_retry_after`` seconds, the policy does not retry at all: waiting that long for one model
is worse than falling back to another, and retrying sooner than asked only earns another 429.

What is worth retrying is decided by ``retryable``. The policy cannot know whether bytes have
already reached the client; once they have, the caller must not retry whatever this says.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

from slicewise.errors import ConfigError, UpstreamError, UpstreamStatus

Jitter = Literal["full", "equal", "none"]
JITTERS: tuple[Jitter, ...] = ("full", "equal", "none")


def retryable(error: UpstreamError) -> bool:
    """Whether another attempt at the same model may succeed.

    Yes for 408, 429 and 5xx statuses, timeouts, connection failures and protocol errors (a
    malformed answer is usually transient); no for other statuses (400, 401, 403, 404, ...),
    which will fail the same way again. The rule lives on the error (``UpstreamError.retryable``)
    so that a provider adapter can mark one error as final.
    """
    return error.retryable


@dataclass(frozen=True)
class RetryPolicy:
    """Retry up to ``attempts`` calls in all, with jittered exponential backoff.

    ``rng`` is only for tests: pass ``random.Random(seed)`` to make the jitter reproducible.
    """

    attempts: int = 3
    base: float = 0.1
    cap: float = 5.0
    jitter: Jitter = "full"
    max_retry_after: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(
                f"retry attempts is {self.attempts}: it counts the first call, "
                "so use 1 for no retries, or more"
            )
        if not 0 <= self.base <= self.cap:
            raise ConfigError(
                f"retry base {self.base} and cap {self.cap}: use seconds with 0 <= base <= cap"
            )
        if self.jitter not in JITTERS:
            raise ConfigError(f"retry jitter {self.jitter!r}: use one of {', '.join(JITTERS)}")
        if self.max_retry_after < 0:
            raise ConfigError(f"max_retry_after {self.max_retry_after}: use seconds >= 0")

    def delay(
        self, attempt: int, error: UpstreamError, remaining: float = math.inf
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to stop retrying.

        ``attempt`` is the number of the attempt that just failed (the first call is 1),
        ``remaining`` the seconds left before the request's deadline: a wait that would use them
        all is not worth making.
        """
        if attempt >= self.attempts or not retryable(error):
            return None
        wait = self._hinted(error)
        if wait is None:
            wait = self.backoff(attempt)
        elif wait > self.max_retry_after:
            return None
        return wait if wait < remaining else None

    def backoff(self, attempt: int) -> float:
        """The jittered wait after failed attempt number ``attempt``, ignoring any hint."""
        doublings = min(max(attempt - 1, 0), 64)  # 2**64 * base is past any cap; no overflow
        ceiling = min(self.cap, self.base * 2.0**doublings)
        if self.jitter == "full":
            return self.rng.uniform(0.0, ceiling)
        if self.jitter == "equal":
            return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        return ceiling

    @staticmethod
    def _hinted(error: UpstreamError) -> float | None:
        if isinstance(error, UpstreamStatus) and error.retry_after is not None:
            return max(0.0, error.retry_after)
        return None
