"""Budgets and rate limits: claimed before the upstream call, settled after it.

Before a request leaves, its most it could cost is reserved against its key's and its tenant's
daily and monthly budgets, and it counts one request and its prompt's tokens against the key's
per-minute limits, all in one claim (see ``tenancy.counters``): concurrent requests can together
reserve no more than a budget holds, so the overrun is at most what the calls cost beyond their
reservations (nothing, when providers respect ``max_tokens``). When the transaction is recorded,
its ticket settles: the reservation is replaced by the actual cost (nothing, on failure), and the
tokens counted by the answer's. Settling runs in the background; a ticket settles once.

Tokens per minute count the prompt and the request's ``max_tokens`` at admission, then the
tokens actually used. Known shortcomings: a request without ``max_tokens`` counts its output
only once the answer is in, so concurrent ones may pass that limit by their outputs; a request
that ends in an unhandled error (a bug), or a stream whose client leaves before its first byte
is sent, keeps its reservation until the period ends; a ticket with an expiry swept by a timer
would fix both.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine

from slicewise.errors import OverLimit
from slicewise.ledger import Transaction
from slicewise.tenancy.counters import Claim, Counters
from slicewise.tenancy.keys import ApiKey, Limits, Tenant
from slicewise.tenancy.spend import NANO, Period, nano, periods, spent


@dataclass(frozen=True)
class Principal:
    """Who a request is for: its key and the key's tenant."""

    key: ApiKey
    tenant: Tenant


@dataclass
class Ticket:
    """One request's pass: who it is for, and what it claimed until it settles."""

    principal: Principal
    budgets: Budgets | None = None
    reserved: list[Claim] = field(default_factory=list)
    tokens: Claim | None = None
    settled: bool = False

    def close(self, done: Transaction) -> Transaction:
        """``done`` with its tenant and key; settles what was claimed (once)."""
        if self.budgets is not None and not self.settled:
            self.settled = True
            self.budgets.settle(self, done)
        key = self.principal.key
        return dataclasses.replace(done, tenant=key.tenant, key_id=key.id)


@dataclass(frozen=True)
class Usage:
    """One budget's spend so far in its current period (reservations in flight included)."""

    scope: str
    """``tenant`` or ``key``."""
    name: str
    period: str
    """``daily`` or ``monthly``."""
    spent: Decimal
    limit: Decimal


REQUESTS = "rate:requests:"
TOKENS = "rate:tokens:"


class Budgets:
    def __init__(self, counters: Counters, ledger: Engine):
        self.counters = counters
        self.ledger = ledger
        self._seeded: dict[str, float] = {}
        self._settling: set[asyncio.Task[None]] = set()
        self._watched: dict[str, Check] = {}
        """Budgets this process has claimed against, each with its limit, for ``usage``."""

    async def claim(self, ticket: Ticket, ceiling: Decimal, tokens: int) -> None:
        """Reserve ``ceiling`` USD and count one request of ``tokens``; ``OverLimit`` if a
        budget or rate limit would be passed (then nothing is claimed)."""
        now = time.time()
        spend = _spend_checks(ticket.principal, nano(ceiling), now)
        checks = spend + _rate_checks(ticket.principal, tokens, now)
        for check in spend:
            await self._seed(check)
        refused = await self.counters.claim([c.claim for c in checks])
        if refused is not None:
            raise OverLimit(checks[refused].why, retry_after=checks[refused].retry_at - now)
        ticket.budgets = self
        ticket.reserved = [c.claim for c in spend]
        self._watched.update((c.claim.key, c) for c in spend)
        ticket.tokens = next((c.claim for c in checks if c.claim.key.startswith(TOKENS)), None)

    def settle(self, ticket: Ticket, done: Transaction) -> None:
        cost = 0 if done.cost_usd is None else nano(done.cost_usd)
        changes = [(c.key, cost - c.amount, c.expires) for c in ticket.reserved]
        if ticket.tokens is not None:
            used = (done.input_tokens or 0) + (done.output_tokens or 0)
            changes.append((ticket.tokens.key, used - ticket.tokens.amount, ticket.tokens.expires))
        changes = [change for change in changes if change[1]]
        if changes:
            self._background(self._add(changes))

    async def usage(self) -> list[Usage]:
        """The budgets this process has seen in their current periods, read from the counters
        (shared ones with Redis, so every instance reports the same numbers)."""
        now = time.time()
        self._watched = {k: c for k, c in self._watched.items() if c.claim.expires > now}
        watched = list(self._watched.values())
        found = await self.counters.values([check.claim.key for check in watched])
        return [
            Usage(*check.owner, check.period, _usd(value), _usd(check.claim.limit))
            for check, value in zip(watched, found, strict=True)
        ]

    async def aclose(self) -> None:
        if self._settling:
            await asyncio.gather(*self._settling)
        await self.counters.aclose()

    async def _add(self, changes: list[tuple[str, int, float]]) -> None:
        for key, amount, expires in changes:
            await self.counters.add(key, amount, expires)

    def _background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _seed(self, check: Check) -> None:
        """Start a period's counter from the ledger, once per process and counter."""
        key = check.claim.key
        if check.since is None or key in self._seeded:
            return
        scope, name = check.owner
        value = await asyncio.to_thread(spent, self.ledger, scope, name, check.since)
        await self.counters.seed(key, value, check.claim.expires)
        now = time.time()
        self._seeded = {k: at for k, at in self._seeded.items() if at > now}
        self._seeded[key] = check.claim.expires


@dataclass(frozen=True)
class Check:
    """A claim, what to say if it is refused, and when it could succeed."""

    claim: Claim
    why: str
    retry_at: float
    owner: tuple[str, str] = ("", "")
    """A budget's ``tenant`` or ``key`` and its name."""
    since: float | None = None
    """A budget's period start, from which the ledger's spend seeds the counter."""
    period: str = ""
    """A budget's period: ``daily`` or ``monthly``."""


def _spend_checks(who: Principal, amount: int, now: float) -> list[Check]:
    found = []
    owners = (("key", who.key.id, who.key.limits), ("tenant", who.tenant.name, who.tenant.limits))
    for scope, name, limits in owners:
        for period in periods(now):
            usd = limits.daily_usd if period.name == "daily" else limits.monthly_usd
            if usd is None:
                continue
            claim = Claim(f"spend:{scope}:{name}:{period.tag}", amount, nano(usd), period.resets)
            why = _over_budget(scope, name, period, usd, amount, now)
            owner = (scope, name)
            found.append(Check(claim, why, period.resets, owner, period.starts, period.name))
    return found


def _rate_checks(who: Principal, tokens: int, now: float) -> list[Check]:
    limits = _per_key(who.key.limits, who.tenant.limits)
    minute = math.floor(now / 60)
    ends = (minute + 1) * 60
    retry = f"retry in {math.ceil(ends - now)} s"
    found = []
    if limits.rpm is not None:
        claim = Claim(f"{REQUESTS}{who.key.id}:{minute}", 1, limits.rpm, ends + 60)
        why = f"key {who.key.id} allows {limits.rpm} requests per minute; {retry}"
        found.append(Check(claim, why, ends))
    if limits.tpm is not None:
        claim = Claim(f"{TOKENS}{who.key.id}:{minute}", tokens, limits.tpm, ends + 60)
        why = f"key {who.key.id} allows {limits.tpm} tokens per minute (this request: ~{tokens}); "
        found.append(Check(claim, why + retry, ends))
    return found


def _usd(amount: int) -> Decimal:
    return Decimal(amount) / NANO


def _per_key(own: Limits, tenant: Limits) -> Limits:
    """A key's rate limits: its own, else its tenant's limit for each of its keys."""
    return Limits(rpm=own.rpm or tenant.rpm, tpm=own.tpm or tenant.tpm)


def _over_budget(
    scope: str, name: str, period: Period, usd: Decimal, amount: int, now: float
) -> str:
    hours, rest = divmod(int(period.resets - now), 3600)
    return (
        f"the {period.name} budget of {scope} {name} (${usd}) has no room for this request, "
        f"which may cost up to ${Decimal(amount) / NANO:.6f}; it resets at "
        f"{period.reset_text()} (in {hours}h{rest // 60:02d}m)"
    )
