"""Calling upstream: retries with backoff, fallback to the next model, circuit breakers.

A model is tried up to ``retries + 1`` times while its errors are retryable (429, 5xx,
timeouts, connection errors), honouring Retry-After and the request's deadline; then the next
model of the plan is tried. A client error (400, 413, 422) is the request's fault and is
returned as is: another model would refuse it too. A stream counts as served once its first
event has arrived; until then a failure falls back like any other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slicewise.chat import ChatRequest, ChatResponse, StreamEvent
from slicewise.errors import RequestError, UpstreamError, UpstreamStatus
from slicewise.gateway.breaker import Breakers
from slicewise.gateway.catalog import Catalog, Model
from slicewise.gateway.plan import Plan
from slicewise.gateway.retry import RetryPolicy

T = TypeVar("T")
CLIENT_FAULTS = frozenset({400, 413, 422})


@dataclass
class Exhausted(Exception):
    """Every model of the plan failed; ``attempts`` says how."""

    attempts: list[dict[str, Any]]
    last: UpstreamError


@dataclass
class Served:
    model: Model
    fallbacks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Dispatcher:
    catalog: Catalog
    breakers: Breakers
    retry: RetryPolicy
    attempt_timeout: float
    retries: int

    async def complete(
        self, request: ChatRequest, plan: Plan, deadline: float
    ) -> tuple[ChatResponse, Served]:
        async def call(model: Model, timeout: float) -> ChatResponse:
            provider = self.catalog.providers[model.provider]
            return await provider.complete(model.upstream, request, timeout)

        return await self._run(plan, deadline, call)

    async def stream(
        self, request: ChatRequest, plan: Plan, deadline: float
    ) -> tuple[StreamEvent, AsyncIterator[StreamEvent], Served]:
        """The first event and the rest of the stream, from the first model that starts."""

        async def start(
            model: Model, timeout: float
        ) -> tuple[StreamEvent, AsyncIterator[StreamEvent]]:
            provider = self.catalog.providers[model.provider]
            events = provider.stream(model.upstream, request, timeout).__aiter__()
            try:
                first = await asyncio.wait_for(events.__anext__(), timeout)
            except BaseException:
                await _close(events)
                raise
            return first, events

        (first, events), served = await self._run(plan, deadline, start)
        return first, events, served

    async def _run(
        self, plan: Plan, deadline: float, call: Callable[[Model, float], Awaitable[T]]
    ) -> tuple[T, Served]:
        attempts: list[dict[str, Any]] = []
        last: UpstreamError | None = None
        refused: RequestError | None = None
        for name in plan.order:
            model = self.catalog.model(name)
            assert model is not None
            try:
                result, error = await self._try_model(model, deadline, call, attempts)
            except RequestError as exc:
                # this model's protocol cannot carry the request (say, json_schema to
                # Anthropic): another model may; if none can, the client hears why
                refused = exc
                attempts.append({"model": name, "error": "RequestError", "status": 400})
                continue
            if error is None:
                return result, Served(model, attempts)  # type: ignore[return-value]
            last = error
            if isinstance(error, UpstreamStatus) and error.status in CLIENT_FAULTS:
                break
        if last is None and refused is not None:
            raise refused
        assert last is not None
        raise Exhausted(attempts, last)

    async def _try_model(
        self,
        model: Model,
        deadline: float,
        call: Callable[[Model, float], Awaitable[T]],
        attempts: list[dict[str, Any]],
    ) -> tuple[T | None, UpstreamError | None]:
        error: UpstreamError | None = None
        breaker = self.breakers[model.name]
        for attempt in range(1, self.retries + 2):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not breaker.allow():
                break
            try:
                result = await call(model, min(self.attempt_timeout, remaining))
            except UpstreamError as exc:
                error = exc
                breaker.record(exc)
                attempts.append(_attempt(model, exc))
                delay = self.retry.delay(attempt, exc, deadline - time.monotonic())
                if delay is None:
                    break
                await asyncio.sleep(delay)
                continue
            except asyncio.CancelledError:
                breaker.release()
                raise
            breaker.record(None)
            return result, None
        return None, error or UpstreamError(
            model.provider, "no attempt was made: the deadline passed or the circuit is open"
        )


def _attempt(model: Model, error: UpstreamError) -> dict[str, Any]:
    status = error.status if isinstance(error, UpstreamStatus) else None
    return {"model": model.name, "error": type(error).__name__, "status": status}


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    closer = getattr(events, "aclose", None)
    if closer is not None:
        await closer()
