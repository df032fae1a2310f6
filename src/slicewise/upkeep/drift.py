"""Live drift: a sampled share of served requests, sent again to a reference model, off the path.

On the request's path only the sampling decision runs (a dict lookup, a random draw, a
budget compare: see ``bench/drift_sample.py``); a sampled request is queued by a background
task that runs after the response has been sent, so the client neither waits for the shadow
call nor sees it fail. The queue is bounded: when it is full a sample is dropped and counted.
Workers then call the reference model through the gateway's providers, score agreement
(``upkeep.agreement``), update the route's estimate (``upkeep.estimate``), write the
comparison and its cost to the ledger's ``shadow_comparisons`` (not ``transactions``: no
tenant's budget is charged and reports of served requests never see it), and fire an alert (one
WARNING line and ``slicewise_drift_alert`` = 1) when the estimate falls below the route's
target with at least ``min_samples`` samples.

Each route's shadow spend is capped per UTC day (``daily_usd``); a call in flight may pass
the cap by its own cost. A reference (or judge) whose price is unknown cannot be capped, so
such a route is not sampled (a warning at start) unless its cap is null.

Whole answers (plain and cascaded) are queued after they are sent; a sampled stream's answer
is put together as its events pass and queued as its end goes out. The comparison sees the
request as it left and the answer as the upstream gave it: with redaction, placeholders, never
the restored values. A request the policies keep from the reference (or the judge) is not
sampled (counted as dropped, ``policy``).

Known shortcoming: a sampled prompt goes to the reference model whatever the key's model
allow-list says, so choose a reference every tenant may use.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from starlette.background import BackgroundTask

from slicewise.chat import (
    ChatRequest,
    ChatResponse,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    aclose,
)
from slicewise.config.schema import Config
from slicewise.config.upkeep import DriftConfig, DriftRoute
from slicewise.errors import SlicewiseError
from slicewise.gateway import errors as error_table
from slicewise.gateway.catalog import Catalog, Model
from slicewise.policy.decision import Decision
from slicewise.upkeep import agreement, shadows
from slicewise.upkeep.estimate import Estimate
from slicewise.upkeep.prices import today as utc_today

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    route: str
    share: float
    reference: str
    daily_usd: Decimal | None
    compare: str
    judge: str
    rubric: str
    target: float


@dataclass
class RouteDrift:
    """One route's drift state: its rule, estimate, spend today and counters."""

    rule: Rule
    estimate: Estimate
    spent: Decimal = Decimal(0)
    day: date = date.min
    cost: Decimal = Decimal(0)
    errors: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    alerting: bool = False

    def over_budget(self, day: date) -> bool:
        if day != self.day:
            self.day, self.spent = day, Decimal(0)
        return self.rule.daily_usd is not None and self.spent >= self.rule.daily_usd

    def paid(self, usd: Decimal | None) -> None:
        if usd is not None:
            self.spent += usd
            self.cost += usd


@dataclass(frozen=True)
class Sample:
    route: str
    request_id: str
    request: ChatRequest
    served_model: str
    response: ChatResponse


_EMPTY = ChatResponse("", "", Message("assistant"), "stop")
"""A tapped stream's answer until its end."""


class _Answer:
    """A streamed answer put together from its events."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, list[str]] = {}  # index -> [id, name, arguments...]

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ToolCallDelta):
            call = self.calls.setdefault(event.index, ["", ""])
            call[0] = call[0] or event.id or ""
            call[1] = call[1] or event.name or ""
            call.append(event.arguments)

    def whole(self, sample: Sample, end: StreamEnd) -> Sample:
        calls = tuple(ToolCall(c[0], c[1], "".join(c[2:])) for _, c in sorted(self.calls.items()))
        message = Message("assistant", "".join(self.text) or None, calls)
        response = ChatResponse(
            sample.request_id, sample.served_model, message, end.finish_reason, end.usage
        )
        return replace(sample, response=response)


def rules(config: Config) -> dict[str, Rule]:
    """Each route's effective drift rule (its own settings over the global ones)."""
    found = {route: _rule(config, route) for route in (*config.routes, "explicit")}
    return {route: rule for route, rule in found.items() if rule is not None}


def _rule(config: Config, route: str) -> Rule | None:
    drift, own = config.drift, config.drift.routes.get(route)
    values = {key: _pick(drift, own, key) for key in DriftRoute.model_fields}
    if values["share"] <= 0 or values["reference"] is None:
        return None
    reference = config.aliases.get(values["reference"], values["reference"])
    judge = values["judge"] or reference
    return Rule(
        route,
        values["share"],
        reference,
        values["daily_usd"],
        values["compare"],
        config.aliases.get(judge, judge),
        values["rubric"] or "",
        values["target"],
    )


class Drift:
    """Sampling, shadow calls, estimates and alerts for every route with a drift rule."""

    def __init__(
        self,
        config: Config,
        catalog: Catalog,
        engine: Engine | None,
        draw: Callable[[], float] = random.random,
        today: Callable[[], date] = utc_today,
    ) -> None:
        self.catalog, self.engine, self.draw, self.today = catalog, engine, draw, today
        self.settings = config.drift
        self.timeout = config.server.attempt_timeout
        self.routes = {
            route: RouteDrift(rule, Estimate(config.drift.window))
            for route, rule in rules(config).items()
            if _priced_or_uncapped(rule, catalog)
        }
        self.queue: asyncio.Queue[Sample] = asyncio.Queue(config.drift.queue)
        self.workers: list[asyncio.Task[None]] = []
        self.busy = 0

    def start(self) -> None:
        self.workers = [
            asyncio.create_task(self._work(), name=f"slicewise-drift-{i}")
            for i in range(self.settings.workers if self.routes else 0)
        ]

    async def aclose(self) -> None:
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)

    def sample(
        self,
        route: str,
        request_id: str,
        request: ChatRequest,
        served_model: str,
        response: ChatResponse,
        policy: Decision | None = None,
    ) -> BackgroundTask | None:
        """On the request's path: a task to run after a whole answer is sent, if sampled.
        ``response`` is the answer as the upstream gave it (before any placeholders were
        restored), for the request as it left."""
        if self._chosen(route, served_model, policy) is None:
            return None
        sample = Sample(route, request_id, request, served_model, response)
        return BackgroundTask(self._enqueue, sample)

    def tap(
        self,
        route: str,
        request_id: str,
        request: ChatRequest,
        served_model: str,
        policy: Decision | None,
        first: StreamEvent,
        events: AsyncIterator[StreamEvent],
    ) -> AsyncIterator[StreamEvent] | None:
        """On a stream's path: ``first`` and ``events`` again, with the answer put together on
        the way and queued at its end, if sampled; ``None`` if not."""
        if self._chosen(route, served_model, policy) is None:
            return None
        return self._tapped(Sample(route, request_id, request, served_model, _EMPTY), first, events)

    def _chosen(self, route: str, served_model: str, policy: Decision | None) -> Rule | None:
        """The route's rule if this request is to be compared (a draw, the budget, the
        policies), else ``None``."""
        state = self.routes.get(route)
        if state is None or self.draw() >= state.rule.share:
            return None
        rule = state.rule
        if served_model == rule.reference:  # it would only agree with itself
            return None
        if policy is not None and (
            policy.refuses(rule.reference)
            or (rule.compare == "judge" and policy.refuses(rule.judge))
        ):
            state.dropped["policy"] += 1  # the request may not go where a comparison sends it
            return None
        if state.over_budget(self.today()):
            state.dropped["budget"] += 1
            return None
        return rule

    async def _tapped(
        self, sample: Sample, first: StreamEvent, events: AsyncIterator[StreamEvent]
    ) -> AsyncIterator[StreamEvent]:
        # the sample is queued as the end passes, before it is handed on: whoever relays the
        # stream stops asking once it has the end
        answer = _Answer()
        try:
            end = self._seen(answer, sample, first)
            yield first
            if end:
                return
            async for event in events:
                end = self._seen(answer, sample, event)
                yield event
                if end:
                    return
        finally:
            await aclose(events)

    def _seen(self, answer: _Answer, sample: Sample, event: StreamEvent) -> bool:
        """Add ``event`` to the answer; at the end, queue the sample. Whether it is the end."""
        answer.add(event)
        if isinstance(event, StreamEnd):
            self._put(answer.whole(sample, event))
            return True
        return False

    @property
    def idle(self) -> bool:
        """Nothing queued and no shadow call in flight (for tests and shutdown)."""
        return self.queue.empty() and self.busy == 0

    async def _enqueue(self, sample: Sample) -> None:
        self._put(sample)

    def _put(self, sample: Sample) -> None:
        try:
            self.queue.put_nowait(sample)
        except asyncio.QueueFull:
            self.routes[sample.route].dropped["queue_full"] += 1

    async def _work(self) -> None:
        while True:
            sample = await self.queue.get()
            self.busy += 1
            try:
                await self._compare(sample)
            except Exception:  # a worker's edge: one bad sample must not stop drift
                self.routes[sample.route].errors += 1
                logger.exception("drift: shadow comparison on route %s failed", sample.route)
            finally:
                self.busy -= 1

    async def _compare(self, sample: Sample) -> None:
        state = self.routes[sample.route]
        rule, started, arrived = state.rule, time.monotonic(), time.time()
        reference = self._model(rule.reference)
        shadow = replace(sample.request, model=reference.name, stream=False)
        try:
            answer = await self._call(reference, shadow)
        except SlicewiseError as exc:  # an upstream failure, or a request it cannot carry
            state.errors += 1
            await self._record(sample, reference, arrived, started, None, None, exc)
            return
        cost = reference.cost(answer.usage, arrived)
        score, judged = await self._score(rule, sample, answer)
        total = None if cost is None else cost + (judged or Decimal(0))
        state.paid(total)
        if score is None:
            state.errors += 1
        else:
            state.estimate.add(score)
            self._check(state)
        await self._record(sample, reference, arrived, started, answer, total, None, score)

    async def _score(
        self, rule: Rule, sample: Sample, reference: ChatResponse
    ) -> tuple[float | None, Decimal | None]:
        """The agreement score, and what the judge cost (``None`` without a judge)."""
        if rule.compare != "judge":
            return agreement.compare(rule.compare, sample.request, sample.response, reference), None
        judge = self._model(rule.judge)
        ask = agreement.judge_request(
            judge.name, sample.request, sample.response, reference, rule.rubric
        )
        try:
            reply = await self._call(judge, ask)
        except SlicewiseError as exc:
            logger.warning("drift: judge %s failed: %s", judge.name, exc)
            return None, None
        return agreement.judge_score(reply), judge.cost(reply.usage, time.time())

    async def _call(self, model: Model, request: ChatRequest) -> ChatResponse:
        provider = self.catalog.providers[model.provider]
        return await provider.complete(model.upstream, request, self.timeout)

    def _model(self, name: str) -> Model:
        model = self.catalog.model(name)
        assert model is not None, f"drift model {name} was checked at start"
        return model

    def _check(self, state: RouteDrift) -> None:
        """Fire the alert on crossing below the target, clear it on crossing back."""
        mean, rule = state.estimate.mean, state.rule
        if mean is None or state.estimate.count < self.settings.min_samples:
            return
        low, high = state.estimate.interval()
        below = (high if self.settings.alert_when == "upper" else mean) < rule.target
        if below and not state.alerting:
            logger.warning(
                "drift alert: route %s agrees with %s on %.3f of %d sampled requests "
                "(95%% interval %.3f-%.3f), below its target %.3f",
                rule.route,
                rule.reference,
                mean,
                state.estimate.count,
                low,
                high,
                rule.target,
            )
        elif not below and state.alerting:
            logger.info(
                "drift: route %s is back at %.3f, target %.3f", rule.route, mean, rule.target
            )
        state.alerting = below

    async def _record(
        self,
        sample: Sample,
        reference: Model,
        arrived: float,
        started: float,
        answer: ChatResponse | None,
        cost: Decimal | None,
        error: SlicewiseError | None,
        score: float | None = None,
    ) -> None:
        """Into the ledger's shadow comparisons (through a thread: the loop serves requests)."""
        if self.engine is None:
            return
        usage = answer.usage if answer else None
        comparison = shadows.Comparison(
            id="shadow_" + sample.request_id,
            created=arrived,
            route=sample.route,
            served_model=sample.served_model,
            reference_model=reference.name,
            compare=self.routes[sample.route].rule.compare,
            agreement=score,
            status=200 if error is None else error_table.status_of(error),
            latency_ms=round((time.monotonic() - started) * 1000, 3),
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            cost_usd=cost,
            error=None if error is None else f"{type(error).__name__}: {error}",
        )
        await asyncio.to_thread(shadows.store, self.engine, comparison)


def _pick(drift: DriftConfig, own: DriftRoute | None, key: str) -> Any:
    """A route's own setting when it has one, else the global one."""
    value = None if own is None else getattr(own, key)
    return getattr(drift, key) if value is None else value


def _priced_or_uncapped(rule: Rule, catalog: Catalog) -> bool:
    """A capped route needs known prices for its reference and judge; warns when not."""
    for role, name in (("reference", rule.reference), ("judge", rule.judge)):
        model = catalog.model(name)
        if model is None:
            logger.warning(
                "drift: route %s: %s %s is not a model; not sampled", rule.route, role, name
            )
            return False
        if rule.daily_usd is not None and not model.priced:
            logger.warning(
                "drift: route %s: %s %s has no known price, so its daily cap cannot hold; "
                "not sampled (give it a price, or set daily_usd: null)",
                rule.route,
                role,
                name,
            )
            return False
    return True
