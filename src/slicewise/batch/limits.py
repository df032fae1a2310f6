"""Rate limits per provider, shared by every call of a batch run: token buckets.

Each provider with a limit in the configuration (``batch.limits``) gets a bucket of requests per
minute and one of tokens per minute. A call takes one request and its estimated tokens (the
prompt's, plus ``max_tokens`` when the request sets it) before it leaves; retries and fallbacks
are calls too, so they take their share. A bucket holds at most one second of its rate, so a
run starts at its rate instead of spending a minute's allowance in a burst; a call larger than
that waits for a full bucket and leaves it in debt.

``Limited`` wraps a provider so that the gateway's dispatcher (retries, fallbacks, breakers)
runs unchanged on top of it. ``Limiter`` is the one interface a shared limit implements: the
local engine's buckets live in its process; the Ray engine puts them in one actor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from slicewise.batch.settings import ProviderLimit
from slicewise.chat import ChatRequest, ChatResponse, StreamEvent
from slicewise.gateway.plan import estimate_tokens
from slicewise.providers.base import Provider


@dataclass
class Bucket:
    """``rate`` units a second, at most ``capacity`` saved up."""

    rate: float
    capacity: float
    level: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    @classmethod
    def per_minute(cls, amount: int) -> Bucket:
        rate = amount / 60.0
        capacity = max(1.0, rate)
        return cls(rate, capacity, capacity)

    def wait_for(self, amount: float, now: float) -> float:
        """Take ``amount`` if the bucket has it (0.0), else the seconds until it will."""
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        need = min(amount, self.capacity)
        if self.level >= need:
            self.level -= amount
            return 0.0
        return (need - self.level) / self.rate


class Limiter(Protocol):
    async def acquire(self, provider: str, tokens: int) -> None: ...


class Buckets:
    """Every provider's buckets in this process; safe for one event loop's tasks."""

    def __init__(self, limits: Mapping[str, ProviderLimit]) -> None:
        self._buckets: dict[str, list[Bucket]] = {}
        self._kinds: dict[str, list[str]] = {}
        for name, limit in limits.items():
            for kind, amount in (("requests", limit.rpm), ("tokens", limit.tpm)):
                if amount is not None:
                    self._buckets.setdefault(name, []).append(Bucket.per_minute(amount))
                    self._kinds.setdefault(name, []).append(kind)
        self._locks = {name: asyncio.Lock() for name in self._buckets}

    def delay(self, provider: str, tokens: int) -> float:
        """Take one request and ``tokens`` now (0.0) or say how long to wait; takes nothing
        unless every bucket of the provider has room."""
        buckets = self._buckets.get(provider, [])
        now = time.monotonic()
        amounts = [1.0 if kind == "requests" else float(tokens) for kind in self._kinds[provider]]
        saved = [(b.level, b.stamp) for b in buckets]
        waits = [b.wait_for(a, now) for b, a in zip(buckets, amounts, strict=True)]
        if any(waits):
            for bucket, (level, stamp) in zip(buckets, saved, strict=True):
                bucket.level, bucket.stamp = level, stamp
            return max(waits)
        return 0.0

    async def acquire(self, provider: str, tokens: int) -> None:
        if provider not in self._buckets:
            return
        async with self._locks[provider]:  # first come, first served: waiters queue on it
            while (wait := self.delay(provider, tokens)) > 0:
                await asyncio.sleep(wait)


class Limited(Provider):
    """``inner`` with each call first taking its share of the provider's limits."""

    def __init__(self, inner: Provider, limiter: Limiter) -> None:
        self.name = inner.name
        self.inner = inner
        self.limiter = limiter

    async def complete(self, model: str, request: ChatRequest, timeout: float) -> ChatResponse:
        await self.limiter.acquire(self.name, _tokens(request))
        return await self.inner.complete(model, request, timeout)

    def stream(
        self, model: str, request: ChatRequest, timeout: float
    ) -> AsyncIterator[StreamEvent]:
        return self.inner.stream(model, request, timeout)  # batches do not stream

    async def models(self) -> list[str]:
        return await self.inner.models()

    async def start(self) -> None:
        await self.inner.start()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _tokens(request: ChatRequest) -> int:
    return estimate_tokens(request) + (request.max_tokens or 0)
