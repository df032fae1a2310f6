"""Prometheus metrics: what the gateway served, spent and saved, for ``GET /metrics``.

Every series lives in a registry owned by one ``Metrics`` (one per app), never in
``prometheus_client``'s process-wide default, so several gateways in one process (the tests)
keep separate counts. ``record`` is fed the same ``Transaction`` the ledger gets, from the
``Recorder``, so the two cannot disagree on what happened. Breaker states are read from
``Breakers`` when Prometheus scrapes; nothing runs in the background.

Labels stay few: routes and models come from the configuration and the catalog, statuses
and endpoints are a handful, an error is an exception class name. Never the requested model
name as sent (a client could send anything), a prompt or a secret. Budget gauges name their
tenant or key id (one series per budget an administrator set). Costs are floats here; the
ledger keeps exact money.

Not measured yet: upstream call durations per model (they need a clock around the call in
``dispatch``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from slicewise.gateway.breaker import Breakers, State
from slicewise.ledger import Transaction
from slicewise.tenancy.budget import Usage

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)
"""Request duration buckets: a cached or local answer in milliseconds, a long one in minutes."""

BREAKER_VALUES = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2, State.THROTTLED: 3}

M = TypeVar("M", Counter, Histogram)


class Labelled(Generic[M]):
    """A metric's series by label values, kept at hand.

    ``labels()`` checks and converts its arguments on every call (about 0.8 µs); a dict lookup
    of a tuple of strings costs a tenth of that, which matters on a path taken seven times per
    request. The dict holds no more than the metric itself holds: one entry per series.
    """

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._series: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        series = self._series.get(values)
        if series is None:
            series = self._series[values] = self.metric.labels(*values)
        return series


class Metrics:
    """The gateway's counters and histograms, and the exposition of them all."""

    def __init__(self, breakers: Breakers | None = None) -> None:
        self.registry = CollectorRegistry()
        self._traffic(self.registry)
        self._policies(self.registry)
        self._budgets(self.registry)
        if breakers is not None:
            self.registry.register(BreakerCollector(breakers))

    def _traffic(self, r: CollectorRegistry) -> None:
        """What was served: requests, tokens, money, routing and failures, durations."""
        self.requests = _counter(
            r,
            "slicewise_requests",
            "Requests answered, by route, serving model, HTTP status and endpoint.",
            ("route", "model", "status", "endpoint"),
        )
        self.tokens = _counter(
            r,
            "slicewise_tokens",
            "Tokens billed by upstream models, by direction (input or output).",
            ("route", "model", "direction"),
        )
        self.cost = _counter(
            r,
            "slicewise_cost_usd",
            "Cost of upstream calls in USD (calls at an unknown price are not counted).",
            ("route", "model"),
        )
        self.baseline = _counter(
            r,
            "slicewise_baseline_cost_usd",
            "What the same requests would have cost on the route's baseline model, in USD.",
            ("route",),
        )
        self.decisions = _counter(
            r,
            "slicewise_route_decisions",
            "Models the router chose first (each first-stage model for a cascade).",
            ("route", "model"),
        )
        self.fallbacks = _counter(
            r,
            "slicewise_fallbacks",
            "Failed upstream attempts (retried, fallen back from, or final), by error class.",
            ("route", "model", "error"),
        )
        self.duration = Labelled(
            Histogram(
                "slicewise_request_duration_seconds",
                "Time from a request's arrival to its outcome (a stream's end), in seconds.",
                ("route", "endpoint"),
                buckets=SECONDS,
                registry=r,
            )
        )

    def _policies(self, r: CollectorRegistry) -> None:
        """What the policies decided: classes and actions, rules, detections, injections."""
        self.policy = _counter(
            r,
            "slicewise_policy_decisions",
            "Requests the policies decided on, by data class and strongest action.",
            ("data_class", "action"),
        )
        self.rule_hits = _counter(
            r,
            "slicewise_policy_rule_hits",
            "Policy rules that applied to a request (injection: the injection check acted).",
            ("rule",),
        )
        self.detections = _counter(
            r,
            "slicewise_policy_detections",
            "Personal data and secrets found in requests, by kind (values are never kept).",
            ("kind",),
        )
        self.flagged = _counter(
            r,
            "slicewise_policy_injections_flagged",
            "Requests whose prompt-injection score reached the threshold, by policy action.",
            ("action",),
        )

    def _budgets(self, r: CollectorRegistry) -> None:
        """Budget use against each limit, set from ``Budgets.usage`` before a scrape."""
        budget = ("scope", "name", "period")
        self.budget_spent = Gauge(
            "slicewise_budget_spent_usd",
            "Spend in the budget's current period, reservations in flight included, in USD.",
            budget,
            registry=r,
        )
        self.budget_limit = Gauge(
            "slicewise_budget_limit_usd",
            "The budget's limit per period, in USD.",
            budget,
            registry=r,
        )

    def budgets(self, usage: Sequence[Usage]) -> None:
        """Budget gauges from ``Budgets.usage`` (read just before a scrape)."""
        self.budget_spent.clear()
        self.budget_limit.clear()
        for use in usage:
            self.budget_spent.labels(use.scope, use.name, use.period).set(float(use.spent))
            self.budget_limit.labels(use.scope, use.name, use.period).set(float(use.limit))

    def record(
        self,
        done: Transaction,
        chosen: Iterable[str] = (),
        calls: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Count one transaction; ``calls`` are a cascade's, each with its own tokens and cost."""
        route, model = done.route, done.model or ""
        self.requests(route, model, str(done.status), done.endpoint).inc()
        self.duration(route, done.endpoint).observe(done.latency_ms / 1000)
        for first in chosen:
            self.decisions(route, first).inc()
        for failed in done.fallbacks:
            self.fallbacks(route, failed["model"], failed["error"]).inc()
        if done.baseline_cost_usd is not None:
            self.baseline(route).inc(float(done.baseline_cost_usd))
        if done.policy_action is not None:
            self._policed(done)
        if calls:
            for call in calls:
                if "error" not in call:
                    price = call["cost_usd"]
                    self._spent(route, call["model"], call["input_tokens"], call["output_tokens"])
                    self._paid(route, call["model"], None if price is None else float(price))
        elif done.model is not None:
            self._spent(route, model, done.input_tokens, done.output_tokens)
            self._paid(route, model, None if done.cost_usd is None else float(done.cost_usd))

    def exposition(self) -> bytes:
        """Every series in Prometheus' text format (``CONTENT_TYPE_LATEST``)."""
        return generate_latest(self.registry)

    def _policed(self, done: Transaction) -> None:
        action = done.policy_action or ""
        self.policy(done.data_class or "", action).inc()
        for rule in done.policy_rules:
            self.rule_hits(rule).inc()
        for kind, count in done.detections.items():
            self.detections(kind).inc(count)
        if done.flagged:
            self.flagged(action).inc()

    def _spent(self, route: str, model: str, inputs: int | None, outputs: int | None) -> None:
        if inputs:
            self.tokens(route, model, "input").inc(inputs)
        if outputs:
            self.tokens(route, model, "output").inc(outputs)

    def _paid(self, route: str, model: str, usd: float | None) -> None:
        if usd is not None:
            self.cost(route, model).inc(usd)


def _counter(
    registry: CollectorRegistry, name: str, documentation: str, labels: tuple[str, ...]
) -> Labelled[Counter]:
    return Labelled(Counter(name, documentation, labels, registry=registry))


class BreakerCollector:
    """``slicewise_breaker_state``, read from the breakers at each scrape."""

    def __init__(self, breakers: Breakers) -> None:
        self.breakers = breakers

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = self._family()
        for model, state in self.breakers.states().items():
            family.add_metric([model], BREAKER_VALUES[State(state)])
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "slicewise_breaker_state",
            "Circuit breaker of each model seen: 0 closed, 1 half-open, 2 open, 3 throttled.",
            labels=["model"],
        )
