"""Running a cascade live: call a stage's models in parallel, check, escalate or accept.

Each stage gets its own time limit (the route's ``stage_timeout``, within the request's
deadline); a model that fails or runs out of time simply gives no reply, and a stage with no
reply escalates. Every call is kept (model, stage, tokens, cost, error) for the ledger and the
``x-slicewise-calls`` header. The client sees only the accepted answer: for a streaming client
it is buffered until accepted, then streamed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from slicewise.chat import (
    ChatRequest,
    ChatResponse,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from slicewise.errors import UpstreamError
from slicewise.features import prompt_text
from slicewise.gateway.catalog import Catalog
from slicewise.gateway.dispatch import Dispatcher, Exhausted, Served
from slicewise.gateway.plan import Plan
from slicewise.routing.cascade import CascadeRouter


@dataclass
class Calls:
    """Every call a cascade made, in order."""

    made: list[dict[str, Any]] = field(default_factory=list)
    cost: Decimal | None = Decimal(0)
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, stage: int, served: Served, response: ChatResponse) -> None:
        cost = served.model.cost(response.usage, time.time())  # the price of today
        usage = response.usage or Usage(0, 0)
        self.made.append(
            {
                "model": served.model.name,
                "stage": stage,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost_usd": None if cost is None else format(cost, "f"),
            }
        )
        self.cost = None if cost is None or self.cost is None else self.cost + cost
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens

    def failed(self, stage: int, model: str, error: BaseException) -> None:
        self.made.append({"model": model, "stage": stage, "error": type(error).__name__})

    def header(self, stages: tuple[tuple[str, ...], ...]) -> str:
        """Models called, ``+`` within a stage, ``;`` between stages."""
        reached = max((c["stage"] for c in self.made), default=0)
        return ";".join("+".join(stage) for stage in stages[: reached + 1])


async def run(
    catalog: Catalog,
    dispatcher: Dispatcher,
    request: ChatRequest,
    decided: Plan,
    deadline: float,
    stage_timeout: float,
) -> tuple[ChatResponse, Served, Calls]:
    """The accepted answer, who gave it, and every call made on the way."""
    route = catalog.routes[decided.route]
    router = route.router
    assert isinstance(router, CascadeRouter) and decided.cascade is not None
    text = prompt_text(tuple((m.role, m.content or "") for m in request.messages))
    inverse = route.router_names
    quiet = replace(request, stream=False)
    calls, replies = Calls(), {}
    last_error: UpstreamError | None = None
    for stage, models in enumerate(decided.stages):
        limit = min(deadline, time.monotonic() + stage_timeout)
        results = await asyncio.gather(
            *(dispatcher.complete(quiet, _single(decided, m), limit) for m in models),
            return_exceptions=True,
        )
        for model, result in zip(models, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exhausted | UpstreamError):
                    raise result
                last_error = result.last if isinstance(result, Exhausted) else result
                calls.failed(stage, model, last_error)
                continue
            response, served = result
            replies[inverse[model]] = (response, served)
            calls.add(stage, served, response)
        if not replies:
            continue
        texts = {name: r.message.content or "" for name, (r, _) in replies.items()}
        accepted, winner = router.check(decided.cascade, stage, text, texts)
        if accepted and winner in replies:
            response, served = replies[winner]
            return response, served, calls
    if not replies:
        assert last_error is not None
        raise Exhausted(calls.made, last_error)
    response, served = next(reversed(replies.values()))  # the strongest stage answered last
    return response, served, calls


def events(response: ChatResponse) -> list[StreamEvent]:
    """A buffered answer as stream events, for a client that asked to stream."""
    out: list[StreamEvent] = []
    if response.message.content:
        out.append(TextDelta(response.message.content))
    for i, call in enumerate(response.message.tool_calls):
        out.append(ToolCallDelta(i, call.id, call.name, call.arguments))
    out.append(StreamEnd(response.finish_reason, response.usage))
    return out


def _single(decided: Plan, model: str) -> Plan:
    return Plan(decided.route, decided.router, (model,), (), decided.reason, decided.baseline)
