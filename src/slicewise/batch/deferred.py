"""Deferred mode: the job goes to the providers' own batch APIs, at their batch discount.

The router plans every request as the local engine does; the requests are grouped by the
provider of their chosen model (no fallbacks: a provider batch runs where it was sent) and
submitted in batches of up to ``SUBMIT`` lines. Then every submitted batch is polled until it
ends, and its results are kept exactly like the local engine's answers (journal, ledger,
output), with the cost at ``DISCOUNT`` of the list price; the baseline stays at list price,
since that is what the same requests would cost sent one by one to the baseline model.

Resume: each request is journalled as started before its batch is submitted, and the batch
(provider, id, each request's model) once the provider has taken it. A rerun polls the batches
already submitted instead of submitting them again; a crash between submitting and journalling
the batch leaves its requests in doubt, as for the local engine.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from slicewise.batch import output, routes
from slicewise.batch.items import Item
from slicewise.batch.job import Options, Run, close_run, open_run
from slicewise.batch.local import Budget, Capture
from slicewise.batch.provider_batches import BatchClient, Result, client
from slicewise.chat import ChatRequest
from slicewise.config import Config
from slicewise.errors import SlicewiseError, UpstreamProtocol, UpstreamStatus
from slicewise.gateway import catalog as catalogs
from slicewise.gateway.admission import ceiling
from slicewise.gateway.app import new_id
from slicewise.gateway.dispatch import Served
from slicewise.gateway.plan import Plan
from slicewise.gateway.protocols import OPENAI
from slicewise.gateway.record import Recorder

DISCOUNT = Decimal("0.5")
SUBMIT = 10_000
CHUNK = 1024


async def run(
    options: Options, config: Config, env: Mapping[str, str] | None, poll: float
) -> dict[str, Any]:
    environment = os.environ if env is None else env
    catalog = await catalogs.build(config, environment)
    clients = {
        n: client(n, p, environment)
        for n, p in config.providers.items()
        if p.kind in ("openai", "anthropic")
    }
    job = open_run(options, config)
    try:
        await _submit_pending(job, catalog, clients)
        await _collect(job, catalog, clients, poll)
    finally:
        await job.journal.aclose()
        for found in clients.values():
            await found.aclose()
        await catalog.aclose()
    return close_run(job)


async def _submit_pending(
    job: Run, catalog: catalogs.Catalog, clients: dict[str, BatchClient]
) -> None:
    """Plan what is pending and submit it, a provider's batch whenever ``SUBMIT`` requests
    have gathered (so memory stays bounded), the rest at the end."""
    groups: dict[str, list[tuple[Item, Plan]]] = {}
    budget = Budget(job.options.max_cost, job.state.tally.cost)
    chunk: list[Item] = []
    for item in job.pending():
        if _submitted(job, item.custom_id):
            continue
        chunk.append(item)
        if len(chunk) >= CHUNK:
            await _plan(job, catalog, chunk, groups, clients, budget)
            chunk = []
            await _submit_full(job, catalog, clients, groups, SUBMIT)
    await _plan(job, catalog, chunk, groups, clients, budget)
    await _submit_full(job, catalog, clients, groups, 1)


async def _submit_full(
    job: Run,
    catalog: catalogs.Catalog,
    clients: dict[str, BatchClient],
    groups: dict[str, list[tuple[Item, Plan]]],
    least: int,
) -> None:
    for provider, planned in groups.items():
        while len(planned) >= least and planned:
            await _submit(job, catalog, clients[provider], planned[:SUBMIT])
            del planned[:SUBMIT]


def _output(job: Run) -> int:
    return job.config.budgets.default_max_output_tokens


def _submitted(job: Run, custom_id: str) -> bool:
    return any(custom_id in s["models"] for s in job.state.submitted)


async def _plan(
    job: Run,
    catalog: catalogs.Catalog,
    chunk: list[Item],
    groups: dict[str, list[tuple[Item, Plan]]],
    clients: dict[str, BatchClient],
    budget: Budget,
) -> None:
    """Plan ``chunk``; each request's most possible cost, at the discount, is reserved against
    ``--max-cost`` (and kept: a deferred run collects after it has submitted everything)."""
    requests, policies = [i.request for i in chunk], [i.policy for i in chunk]
    planned = routes.plan_many(catalog, requests, lambda _: True, policies)
    for item, decided in zip(chunk, planned, strict=True):
        if isinstance(decided, Plan) and decided.stages:
            decided = SlicewiseError("cascade routes cannot run deferred; drop --deferred")
        provider = "" if isinstance(decided, SlicewiseError) else decided.order[0].split("/")[0]
        if isinstance(decided, Plan) and provider not in clients:
            decided = SlicewiseError(f"provider {provider!r} has no batch API; drop --deferred")
        if isinstance(decided, SlicewiseError):
            await job.fail(
                item.custom_id, output.failed(item.custom_id, item.line, decided, new_id()), None
            )
            continue
        most = ceiling(catalog, item.request, decided, _output(job)) * DISCOUNT
        if not budget.reserve(most):
            job.not_run += 1
            continue
        groups.setdefault(provider, []).append((item, decided))


async def _submit(
    job: Run, catalog: catalogs.Catalog, found: BatchClient, planned: list[tuple[Item, Plan]]
) -> None:
    lines = []
    for item, decided in planned:
        model = catalog.model(decided.order[0])
        assert model is not None
        lines.append(found.line(item.custom_id, model.upstream, item.request))
        await job.journal.append({"s": item.custom_id})
    batch_id = await found.submit(lines)
    record = {
        "provider": found.name,
        "id": batch_id,
        "ids": [item.custom_id for item, _ in planned],
        "models": {
            item.custom_id: [
                d.order[0],
                d.route,
                d.router,
                d.baseline,
                item.line,
            ]
            for item, d in planned
        },
    }
    await job.journal.append({"b": record})
    job.state.submitted.append(record)


async def _collect(
    job: Run, catalog: catalogs.Catalog, clients: dict[str, BatchClient], poll: float
) -> None:
    while job.state.submitted:
        for submitted in list(job.state.submitted):
            results = await clients[submitted["provider"]].results(submitted["id"])
            if results is None:
                continue
            for result in results:
                await _keep(job, catalog, clients[submitted["provider"]], submitted, result)
            await job.journal.append({"b": {"id": submitted["id"], "collected": True}})
            job.state.submitted.remove(submitted)
        if job.state.submitted:
            await asyncio.sleep(poll)


async def _keep(
    job: Run,
    catalog: catalogs.Catalog,
    found: BatchClient,
    submitted: dict[str, Any],
    result: Result,
) -> None:
    custom_id, status, body = result
    if custom_id not in submitted["models"] or custom_id in job.state.done:
        return
    name, route, router, baseline, line = submitted["models"][custom_id]
    decided = Plan(route, router, (name,), (), "deferred", baseline)
    model = catalog.model(name)
    request_id, now = new_id(), time.time()
    if status != 200 or model is None:
        error = UpstreamStatus(found.name, status, str(body.get("message") or body)[:300])
        await job.fail(custom_id, output.failed(custom_id, line, error, request_id), None)
        return
    try:
        response = found.parse(body, name)
    except UpstreamProtocol as exc:
        await job.fail(custom_id, output.failed(custom_id, line, exc, request_id), None)
        return
    recorder = Recorder(Capture(), catalog)
    quiet = ChatRequest(name, ())
    recorder.served(
        request_id, now, time.monotonic(), OPENAI, quiet, decided, Served(model), response.usage
    )
    assert isinstance(recorder.ledger, Capture)
    tx = recorder.ledger.kept[-1]
    cost = None if tx.cost_usd is None else tx.cost_usd * DISCOUNT
    tx = replace(
        tx,
        cost_usd=cost,
        extra={**tx.extra, "deferred": submitted["id"], "discount": str(DISCOUNT)},
    )
    tx = job.labels.row(tx, custom_id, paid=True)
    rendered = OPENAI.render(response, tx.request_id, int(now))
    await job.answer(custom_id, output.answered(custom_id, rendered, decided, tx), tx)
