"""Turning a finished request into its ledger transaction, with exact cost and baseline."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from slicewise.chat import ChatRequest, Usage
from slicewise.errors import SlicewiseError
from slicewise.gateway import errors as error_table
from slicewise.gateway.cascade import Calls
from slicewise.gateway.catalog import Catalog
from slicewise.gateway.dispatch import Served
from slicewise.gateway.metrics import Metrics
from slicewise.gateway.plan import Plan
from slicewise.gateway.protocols import Protocol
from slicewise.ledger import Ledger, Transaction
from slicewise.policy.decision import Decision
from slicewise.tenancy.budget import Ticket


class Recorder:
    # Known shortcoming: request id, arrival, start, protocol, request and plan travel together
    # through app.py and every method here; one per-request value would carry them instead.
    def __init__(
        self,
        ledger: Ledger,
        catalog: Catalog,
        metrics: Metrics | None = None,
        ticket: Ticket | None = None,
    ):
        self.ledger = ledger
        self.catalog = catalog
        self.metrics = metrics
        self.ticket = ticket

    def on_ticket(self, ticket: Ticket) -> Recorder:
        """This recorder for one request: its rows carry the ticket's tenant and key, and
        recording one settles the ticket's budget reservation."""
        return Recorder(self.ledger, self.catalog, self.metrics, ticket)

    def served(
        self,
        request_id: str,
        arrived: float,
        started: float,
        protocol: Protocol,
        request: ChatRequest,
        decided: Plan,
        served: Served,
        usage: Usage | None,
    ) -> Decimal | None:
        """Record a successful call; returns its cost (``None`` if the price is unknown)."""
        return self._write(
            request_id, arrived, started, protocol, request, decided, served, usage, None, 200
        )

    def streamed(
        self,
        request_id: str,
        arrived: float,
        started: float,
        protocol: Protocol,
        request: ChatRequest,
        decided: Plan,
        served: Served,
        usage: Usage | None,
        error: SlicewiseError | None,
    ) -> Decimal | None:
        status = 200 if error is None else error_table.status_of(error)
        return self._write(
            request_id, arrived, started, protocol, request, decided, served, usage, error, status
        )

    def cascaded(
        self,
        request_id: str,
        arrived: float,
        started: float,
        protocol: Protocol,
        request: ChatRequest,
        decided: Plan,
        served: Served,
        calls: Calls,
    ) -> Decimal | None:
        """Record a cascade: the accepted answer's model, the cost of every call made."""
        baseline = self.catalog.model(decided.baseline) if decided.baseline else None
        accepted = next(
            (
                c
                for c in reversed(calls.made)
                if c["model"] == served.model.name and "error" not in c
            ),
            None,
        )
        usage = Usage(accepted["input_tokens"], accepted["output_tokens"]) if accepted else None
        self._keep(
            Transaction(
                **_common(request_id, arrived, started, protocol, request, decided),
                model=served.model.name,
                status=200,
                input_tokens=calls.input_tokens,
                output_tokens=calls.output_tokens,
                cost_usd=calls.cost,
                baseline_model=decided.baseline,
                baseline_cost_usd=baseline.cost(usage) if baseline else None,
                fallbacks=tuple(c for c in calls.made if "error" in c),
                extra={"calls": calls.made, "stages": [list(s) for s in decided.stages]},
            ),
            decided,
            calls.made,
        )
        return calls.cost

    def failed(
        self,
        request_id: str,
        arrived: float,
        started: float,
        protocol: Protocol,
        request: ChatRequest | None,
        decided: Plan | None,
        error: SlicewiseError,
        attempts: list[dict[str, Any]] | None = None,
        policy: Decision | None = None,
    ) -> None:
        """Record a request no model served; ``policy`` is the decision when no plan was made
        (a block, or no model left)."""
        common = _common(request_id, arrived, started, protocol, request, decided)
        if policy is not None and decided is None:
            common.update(policy.audit())
        self._keep(
            Transaction(
                **common,
                model=None,
                status=error_table.status_of(error),
                fallbacks=tuple(attempts or ()),
                error=f"{type(error).__name__}: {error}",
            ),
            decided,
        )

    def _write(
        self,
        request_id: str,
        arrived: float,
        started: float,
        protocol: Protocol,
        request: ChatRequest,
        decided: Plan,
        served: Served,
        usage: Usage | None,
        error: SlicewiseError | None,
        status: int,
    ) -> Decimal | None:
        cost = served.model.cost(usage, arrived)  # at the price in force when it arrived
        baseline = self.catalog.model(decided.baseline) if decided.baseline else None
        self._keep(
            Transaction(
                **_common(request_id, arrived, started, protocol, request, decided),
                model=served.model.name,
                status=status,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
                cost_usd=cost,
                baseline_model=decided.baseline,
                baseline_cost_usd=baseline.cost(usage, arrived) if baseline else None,
                fallbacks=tuple(served.fallbacks),
                error=None if error is None else f"{type(error).__name__}: {error}",
                extra=_extra(cost, decided),
            ),
            decided,
        )
        return cost

    def _keep(
        self, done: Transaction, decided: Plan | None, calls: list[dict[str, Any]] | None = None
    ) -> None:
        """Into the ledger, and into the metrics (a few microseconds) when there are any."""
        if self.ticket is not None:
            done = self.ticket.close(done)
        self.ledger.record(done)
        if self.metrics is not None:
            self.metrics.record(done, _chosen(decided), calls or ())


def _common(
    request_id: str,
    arrived: float,
    started: float,
    protocol: Protocol,
    request: ChatRequest | None,
    decided: Plan | None,
) -> dict[str, Any]:
    """The fields every transaction has, served or not."""
    audit = decided.policy.audit() if decided is not None and decided.policy else {}
    return audit | {
        "request_id": request_id,
        "created": arrived,
        "endpoint": protocol.endpoint,
        "route": decided.route if decided else "",
        "router": decided.router if decided else "",
        "requested": request.model if request else "",
        "latency_ms": _ms(started),
        "stream": bool(request and request.stream),
        "candidates": decided.candidates if decided else (),
    }


def _extra(cost: Decimal | None, decided: Plan) -> dict[str, Any]:
    extra: dict[str, Any] = {} if cost is not None else {"price": "unknown"}
    if decided.redirected_from is not None:
        extra["redirected_from"] = decided.redirected_from
    return extra


def _chosen(decided: Plan | None) -> tuple[str, ...]:
    """The router's first choice: the first stage's models for a cascade."""
    if decided is None:
        return ()
    return decided.stages[0] if decided.stages else decided.order[:1]


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
