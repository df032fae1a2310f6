"""The local engine: one process, one event loop, ``concurrency`` calls in flight.

A producer reads the input lazily, plans a chunk of requests at a time (``routes.plan_many``,
in a thread so calls keep flowing) and queues them; workers take one each, reserve its most
possible cost against ``--max-cost``, journal its start, call upstream through the gateway's
dispatcher (retries, fallbacks, breakers; every call first takes its share of the provider's
rate limits), and keep the outcome (see ``batch.job``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from slicewise.batch import output, routes, state
from slicewise.batch.items import Item
from slicewise.batch.job import Labels, Options, Run, close_run, open_run
from slicewise.batch.limits import Buckets, Limited, Limiter
from slicewise.batch.routes import Planned
from slicewise.chat import ChatResponse
from slicewise.config import Config
from slicewise.errors import RequestError, SlicewiseError
from slicewise.gateway import cascade as cascades
from slicewise.gateway import catalog as catalogs
from slicewise.gateway.admission import ceiling
from slicewise.gateway.app import new_id
from slicewise.gateway.breaker import Breakers
from slicewise.gateway.dispatch import Dispatcher, Exhausted
from slicewise.gateway.plan import Plan
from slicewise.gateway.protocols import OPENAI
from slicewise.gateway.record import Recorder
from slicewise.gateway.retry import RetryPolicy
from slicewise.ledger import Ledger, Transaction
from slicewise.policy.answer import restored
from slicewise.providers.base import Provider

CHUNK = 256
_DONE = None


class Capture(Ledger):
    """Where a ``Recorder`` puts its transaction, so the batch can journal it first."""

    def __init__(self) -> None:
        self.kept: list[Transaction] = []

    def record(self, tx: Transaction) -> None:
        self.kept.append(tx)


@dataclass(frozen=True)
class Call:
    """One request's call: its id, when it started (monotonic) and arrived (Unix time), and the
    recorder that builds its transaction."""

    id: str
    started: float
    arrived: float
    recorder: Recorder


@dataclass
class Budget:
    """``--max-cost``: what is spent plus what calls in flight may spend stays under it."""

    limit: Decimal | None
    spent: Decimal
    reserved: Decimal = Decimal(0)

    def reserve(self, most: Decimal) -> bool:
        if self.limit is not None and self.spent + self.reserved + most > self.limit:
            return False
        self.reserved += most
        return True

    def settle(self, most: Decimal, cost: Decimal | None) -> None:
        self.reserved -= most
        self.spent += cost or 0


async def open_catalog(
    config: Config, env: Mapping[str, str] | None, limiter: Limiter
) -> catalogs.Catalog:
    """The gateway's catalog with each provider that has limits behind the shared ones."""
    built = await catalogs.build(config, env)
    limits = config.batch.limits
    providers: dict[str, Provider] = {
        name: Limited(p, limiter) if name in limits else p for name, p in built.providers.items()
    }
    return catalogs.Catalog(built.models, providers, built.routes)


def dispatcher(config: Config, catalog: catalogs.Catalog) -> Dispatcher:
    server = config.server
    return Dispatcher(
        catalog,
        Breakers(),
        RetryPolicy(attempts=server.retries + 1),
        server.attempt_timeout,
        server.retries,
    )


async def run(options: Options, config: Config, env: Mapping[str, str] | None = None) -> Any:
    """Run the job to the end (or to ``--max-cost``, or Ctrl-C); its summary."""
    catalog = await open_catalog(config, env, Buckets(config.batch.limits))
    job = open_run(options, config)
    try:
        caller = Caller(job.labels, catalog, dispatcher(config, catalog))
        await Engine(job, caller).run()
    finally:
        await job.journal.aclose()
        await catalog.aclose()
    return close_run(job)


async def keep(job: Run, record: dict[str, Any]) -> Decimal | None:
    """Keep a call's outcome (``Caller.outcome``); its cost."""
    tx = None if record.get("t") is None else state.decode(record["t"])
    if "d" in record:
        assert tx is not None
        await job.answer(record["d"], record["o"], tx)
        return tx.cost_usd
    await job.fail(record["f"], record["o"], tx)
    return None


class Caller:
    """Calls upstream for one request and says what to keep: a journal record, ``{"d": ...}``
    for an answer (output line and ledger row), ``{"f": ...}`` for a failure."""

    def __init__(self, labels: Labels, catalog: catalogs.Catalog, dispatch: Dispatcher) -> None:
        self.labels = labels
        self.catalog = catalog
        self.dispatch = dispatch

    async def outcome(self, item: Item, decided: Planned) -> dict[str, Any]:
        if isinstance(decided, SlicewiseError):
            return self._refused(item, decided, None)
        call = Call(new_id(), time.monotonic(), time.time(), Recorder(Capture(), self.catalog))
        try:
            response = await self._call(item, decided, call)
        except (Exhausted, RequestError) as exc:
            error, attempts = (
                (exc.last, exc.attempts) if isinstance(exc, Exhausted) else (exc, None)
            )
            call.recorder.failed(
                call.id, call.arrived, call.started, OPENAI, item.request, decided, error, attempts
            )
            return self._refused(item, error, _kept(call.recorder))
        tx = self.labels.row(_kept(call.recorder), item.custom_id, paid=True)
        if item.policy is not None and item.policy.vault is not None:
            response = restored(response, item.policy.vault)  # as the gateway answers
        body = OPENAI.render(response, tx.request_id, int(call.arrived))
        line = output.answered(item.custom_id, body, decided, tx)
        return {"d": item.custom_id, "o": line, "t": state.encode(tx)}

    async def _call(self, item: Item, decided: Plan, call: Call) -> ChatResponse:
        """The answer, directly or through a cascade; its transaction goes to the recorder."""
        server = self.labels.config.server
        deadline = call.started + server.deadline
        where = (call.id, call.arrived, call.started, OPENAI, item.request, decided)
        if decided.stages:
            response, served, calls = await cascades.run(
                self.catalog, self.dispatch, item.request, decided, deadline, server.stage_timeout
            )
            call.recorder.cascaded(*where, served, calls)
            return response
        response, served = await self.dispatch.complete(item.request, decided, deadline)
        call.recorder.served(*where, served, response.usage)
        return response

    def _refused(self, item: Item, error: SlicewiseError, tx: Transaction | None) -> dict[str, Any]:
        row = None if tx is None else self.labels.row(tx, item.custom_id, paid=False)
        request_id = new_id() if row is None else row.request_id
        line = output.failed(item.custom_id, item.line, error, request_id)
        return {"f": item.custom_id, "o": line, "t": None if row is None else state.encode(row)}


class Engine:
    def __init__(self, job: Run, caller: Caller) -> None:
        self.job = job
        self.caller = caller
        self.budget = Budget(job.options.max_cost, job.state.tally.cost)
        self.queue: asyncio.Queue[tuple[Item, Planned] | None] = asyncio.Queue(
            maxsize=2 * job.options.concurrency
        )
        self.stopping = False

    async def run(self) -> None:
        workers = [asyncio.create_task(self._work()) for _ in range(self.job.options.concurrency)]
        with _interrupts(self):
            await self._produce()
            for _ in workers:
                await self.queue.put(_DONE)
            await asyncio.gather(*workers)

    def stop(self) -> None:
        self.stopping = True

    async def _produce(self) -> None:
        chunk: list[Item] = []
        for item in self.job.pending():
            chunk.append(item)
            if len(chunk) >= CHUNK:
                await self._plan(chunk)
                chunk = []
            if self.stopping:
                return
        await self._plan(chunk)

    async def _plan(self, chunk: list[Item]) -> None:
        if not chunk:
            return
        requests = [item.request for item in chunk]
        breakers = self.caller.dispatch.breakers
        planned = await asyncio.to_thread(
            routes.plan_many,
            self.caller.catalog,
            requests,
            lambda m: breakers[m].ready(),
            [item.policy for item in chunk],
        )
        for item, decided in zip(chunk, planned, strict=True):
            if self.stopping:
                return
            await self.queue.put((item, decided))

    async def _work(self) -> None:
        while (taken := await self.queue.get()) is not _DONE:
            item, decided = taken
            if self.stopping:
                continue
            if isinstance(decided, SlicewiseError):
                await keep(self.job, await self.caller.outcome(item, decided))
                continue
            catalog = self.caller.catalog
            most = ceiling(catalog, item.request, decided, _output_default(self.job))
            if not self.budget.reserve(most):
                self.job.not_run += 1
                self.stopping = True  # --max-cost: nothing more is started
                continue
            await self.job.journal.append({"s": item.custom_id})
            cost = await keep(self.job, await self.caller.outcome(item, decided))
            self.budget.settle(most, cost)


def _kept(recorder: Recorder) -> Transaction:
    assert isinstance(recorder.ledger, Capture)
    return recorder.ledger.kept[-1]


def _output_default(job: Run) -> int:
    return job.config.budgets.default_max_output_tokens


@contextlib.contextmanager
def _interrupts(engine: Engine) -> Any:
    """The first Ctrl-C (or SIGTERM) stops taking requests and lets calls in flight finish;
    the second ends the process at once."""
    loop = asyncio.get_running_loop()

    def first() -> None:
        engine.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, first)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
