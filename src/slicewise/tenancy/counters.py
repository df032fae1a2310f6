"""Integer counters with limits, claimed all or nothing: in this process, or in Redis.

A request's claims (its reservation against each budget, its request and tokens against each
rate limit) are checked and added together: either every counter stays within its limit and all
grow, or none does. In the process that holds because nothing awaits between the check and the
additions; in Redis, because one Lua script does both. Redis lets several gateway instances share
the counters; without it each instance counts alone, so N instances may together spend N times
a budget (documented in the README).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slicewise.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    key: str
    amount: int
    limit: int
    expires: float
    """Unix time after which the counter may be dropped (its period is over)."""


class Counters(Protocol):
    async def claim(self, claims: Sequence[Claim]) -> int | None:
        """Add every claim, or none; returns the index of the first that would pass its
        limit, or ``None`` when all were added."""
        ...

    async def add(self, key: str, amount: int, expires: float) -> None: ...

    async def seed(self, key: str, value: int, expires: float) -> None:
        """Set the counter to ``value`` unless it already exists."""
        ...

    async def values(self, keys: Sequence[str]) -> list[int]:
        """The counters' current values (0 for one that does not exist)."""
        ...

    async def aclose(self) -> None: ...


class MemoryCounters:
    """Counters in this process. Safe within one event loop: no method awaits."""

    def __init__(self) -> None:
        self._values: dict[str, int] = {}
        self._expires: dict[str, float] = {}

    async def claim(self, claims: Sequence[Claim]) -> int | None:
        for i, c in enumerate(claims):
            if self._values.get(c.key, 0) + c.amount > c.limit:
                return i
        for c in claims:
            self._bump(c.key, c.amount, c.expires)
        return None

    async def add(self, key: str, amount: int, expires: float) -> None:
        self._bump(key, amount, expires)

    async def seed(self, key: str, value: int, expires: float) -> None:
        if key not in self._values:
            self._bump(key, value, expires)
        self._forget_expired()

    async def values(self, keys: Sequence[str]) -> list[int]:
        return [self._values.get(key, 0) for key in keys]

    async def aclose(self) -> None:
        self._values.clear()

    def value(self, key: str) -> int:
        return self._values.get(key, 0)

    def _bump(self, key: str, amount: int, expires: float) -> None:
        self._values[key] = self._values.get(key, 0) + amount
        self._expires[key] = max(expires, self._expires.get(key, 0.0))

    def _forget_expired(self) -> None:
        now = time.time()
        for key in [k for k, at in self._expires.items() if at < now]:
            del self._values[key], self._expires[key]


# KEYS: the counters; ARGV: amount, limit and expiry (Unix seconds) of each, in that order
_CLAIM = """
for i = 1, #KEYS do
  local now = tonumber(redis.call('GET', KEYS[i]) or '0')
  if now + tonumber(ARGV[3 * i - 2]) > tonumber(ARGV[3 * i - 1]) then return i end
end
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[3 * i - 2])
  redis.call('EXPIREAT', KEYS[i], ARGV[3 * i])
end
return 0
"""


class RedisCounters:
    """Counters in Redis, shared by every gateway instance using the same URL and prefix.

    Values are integers (nano-dollars, requests, tokens): Lua reads them as doubles, exact up to
    2^53, about nine million dollars in one counter.
    """

    def __init__(self, client: Any, prefix: str):
        self._redis = client
        self._prefix = prefix + ":"
        self._script = client.register_script(_CLAIM)

    async def claim(self, claims: Sequence[Claim]) -> int | None:
        keys = [self._prefix + c.key for c in claims]
        args = [x for c in claims for x in (c.amount, c.limit, int(c.expires) + 1)]
        refused = int(await self._script(keys=keys, args=args))
        return None if refused == 0 else refused - 1

    async def add(self, key: str, amount: int, expires: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(self._prefix + key, amount)
            pipe.expireat(self._prefix + key, int(expires) + 1)
            await pipe.execute()

    async def seed(self, key: str, value: int, expires: float) -> None:
        await self._redis.set(self._prefix + key, value, nx=True, exat=int(expires) + 1)

    async def values(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        found = await self._redis.mget([self._prefix + key for key in keys])
        return [int(value or 0) for value in found]

    async def aclose(self) -> None:
        await self._redis.aclose()


async def open_counters(url: str | None, prefix: str) -> Counters:
    """Redis counters when ``url`` is set (checked with a ping), else this process's."""
    if url is None:
        return MemoryCounters()
    import redis.asyncio
    from redis.exceptions import RedisError

    client = redis.asyncio.from_url(url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise ConfigError(
            f"redis.url: cannot reach Redis ({exc}); start it, or remove redis.url to keep "
            "budget and rate counters in the process"
        ) from None
    logger.info("budget and rate counters shared in Redis")
    return RedisCounters(client, prefix)
