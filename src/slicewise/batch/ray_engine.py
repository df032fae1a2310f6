"""The Ray engine (``--engine ray``): the local engine's job with its calls spread over actors.

The driver (this process) does what decides and records: it reads the input, plans chunks of
requests vectorised (``routes.plan_many``), reserves each request's most possible cost against
``--max-cost``, journals the starts of a chunk (synced) and hands the chunk to a ``Caller``
actor; when the actor's results come back it keeps each one as the local engine does (journal,
ledger, output). The actors make the calls with the gateway's dispatcher (retries, fallbacks,
breakers per actor) behind one ``SharedLimits`` actor, so a provider's rate limit holds across
the whole cluster. Resume is the local engine's: the journal and files are the driver's.

One difference: a chunk's starts are journalled together before it leaves, so a crash leaves
the whole chunks in flight in doubt, including requests of them whose calls had not left yet
(at most ``--concurrency`` requests, as locally).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from slicewise.batch import local, output, routes
from slicewise.batch.items import Item
from slicewise.batch.job import Labels, Options, Run, close_run, open_run
from slicewise.batch.limits import Buckets
from slicewise.config import Config
from slicewise.errors import ConfigError, SlicewiseError
from slicewise.gateway.admission import ceiling
from slicewise.gateway.app import new_id
from slicewise.gateway.plan import Plan

CHUNK = 16
Call = tuple[str, int, Any, Plan]
"""custom_id, input line, ChatRequest, plan."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--engine ray needs Ray: pip install 'slicewise[ray]' (or use --engine local)"
        ) from None
    return ray


class SharedLimits:
    """Every provider's buckets in one actor: the one rate limit of the whole cluster."""

    def __init__(self, config: Config) -> None:
        self.buckets = Buckets(config.batch.limits)

    async def acquire(self, provider: str, tokens: int) -> None:
        await self.buckets.acquire(provider, tokens)


class RemoteLimits:
    """The ``Limiter`` interface over the ``SharedLimits`` actor."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    async def acquire(self, provider: str, tokens: int) -> None:
        await self.actor.acquire.remote(provider, tokens)


class Caller:
    """Makes a chunk's calls at once, through the shared limits; returns journal records."""

    def __init__(self, labels: Labels, env: dict[str, str], limits: Any) -> None:
        self.labels, self.env, self.limits = labels, env, limits
        self.caller: local.Caller | None = None

    async def call(self, chunk: list[Call]) -> list[dict[str, Any]]:
        caller = await self._caller()
        outcomes = (
            caller.outcome(Item(line, cid, request), plan) for cid, line, request, plan in chunk
        )
        return list(await asyncio.gather(*outcomes))

    async def close(self) -> None:
        if self.caller is not None:
            await self.caller.catalog.aclose()
            self.caller = None

    async def _caller(self) -> local.Caller:
        if self.caller is None:
            config = self.labels.config
            catalog = await local.open_catalog(config, self.env, RemoteLimits(self.limits))
            self.caller = local.Caller(self.labels, catalog, local.dispatcher(config, catalog))
        return self.caller


async def run(
    options: Options, config: Config, env: Mapping[str, str] | None, address: str | None
) -> dict[str, Any]:
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="warning")
    environment = dict(os.environ if env is None else env)
    job = open_run(options, config)
    catalog = await local.open_catalog(config, environment, Buckets({}))
    try:
        await Driver(ray, job, catalog, config, environment).run()
    finally:
        await job.journal.aclose()
        await catalog.aclose()
    return close_run(job)


class Driver:
    def __init__(
        self, ray: Any, job: Run, catalog: Any, config: Config, env: dict[str, str]
    ) -> None:
        self.ray, self.job, self.catalog = ray, job, catalog
        self.limits = limits = ray.remote(SharedLimits).remote(config)
        workers = max(1, min(int(ray.available_resources().get("CPU", 1)), 8))
        remote = ray.remote(num_cpus=0)(Caller).options(max_concurrency=1000)
        self.callers = [remote.remote(job.labels, env, limits) for _ in range(workers)]
        self.budget = local.Budget(job.options.max_cost, job.state.tally.cost)
        self.output_default = config.budgets.default_max_output_tokens
        self.slots = asyncio.Semaphore(max(1, job.options.concurrency // CHUNK))
        self.tasks: set[asyncio.Task[None]] = set()
        self.turn = 0
        self.stopping = False

    async def run(self) -> None:
        chunk: list[Item] = []
        for item in self.job.pending():
            chunk.append(item)
            if len(chunk) >= 256:
                await self._send(chunk)
                chunk = []
            if self.stopping:
                break
        if not self.stopping:
            await self._send(chunk)
        await asyncio.gather(*self.tasks)
        await asyncio.gather(*(caller.close.remote() for caller in self.callers))
        for actor in [*self.callers, self.limits]:
            self.ray.kill(actor)

    async def _send(self, items: list[Item]) -> None:
        requests, policies = [i.request for i in items], [i.policy for i in items]
        planned = routes.plan_many(self.catalog, requests, lambda _: True, policies)
        calls: list[tuple[Call, Decimal]] = []
        for item, decided in zip(items, planned, strict=True):
            if isinstance(decided, SlicewiseError):
                line = output.failed(item.custom_id, item.line, decided, new_id())
                await self.job.fail(item.custom_id, line, None)
                continue
            most = ceiling(self.catalog, item.request, decided, self.output_default)
            if self.stopping or not self.budget.reserve(most):
                self.job.not_run += 1
                self.stopping = True
                continue
            calls.append(((item.custom_id, item.line, item.request, decided), most))
        for lo in range(0, len(calls), CHUNK):
            await self.slots.acquire()
            task = asyncio.create_task(self._chunk(calls[lo : lo + CHUNK]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _chunk(self, calls: list[tuple[Call, Decimal]]) -> None:
        try:
            await self.job.journal.append(*({"s": call[0]} for call, _ in calls))
            caller = self.callers[self.turn % len(self.callers)]
            self.turn += 1
            results = await caller.call.remote([c for c, _ in calls])
            costs = await asyncio.gather(*(local.keep(self.job, r) for r in results))
            for cost, (_, most) in zip(costs, calls, strict=True):
                self.budget.settle(most, cost)
        finally:
            self.slots.release()
