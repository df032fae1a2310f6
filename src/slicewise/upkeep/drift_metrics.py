"""Drift's series for ``GET /metrics``, read from the routes' drift state at each scrape."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from slicewise.upkeep.drift import Drift

Family = GaugeMetricFamily | CounterMetricFamily


class DriftCollector:
    """Per route: estimated quality (agreement with the reference) and its interval, its
    margin over the target (the drift), target, alert, samples, shadow cost, errors, and
    samples dropped (queue full, budget, policy)."""

    def __init__(self, drift: Drift) -> None:
        self.drift = drift

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        families = self._families()
        quality, low, high, margin, target, alert, samples, cost, errors, dropped = families
        for route, state in self.drift.routes.items():
            mean = state.estimate.mean
            lower, upper = state.estimate.interval()
            if mean is not None:
                quality.add_metric([route], mean)
                low.add_metric([route], lower)
                high.add_metric([route], upper)
                margin.add_metric([route], mean - state.rule.target)
            target.add_metric([route], state.rule.target)
            alert.add_metric([route], float(state.alerting))
            samples.add_metric([route], state.estimate.total)
            cost.add_metric([route], float(state.cost))
            errors.add_metric([route], state.errors)
            for reason in ("queue_full", "budget", "policy"):
                dropped.add_metric([route, reason], state.dropped[reason])
        return families

    @staticmethod
    def _families() -> list[Family]:
        route = ["route"]
        return [
            _gauge("quality", "Estimated quality: mean agreement with the reference model.", route),
            _gauge("quality_lower", "Lower end of the estimate's 95% Wilson interval.", route),
            _gauge("quality_upper", "Upper end of the estimate's 95% Wilson interval.", route),
            _gauge("margin", "Estimated quality minus the target: negative is below.", route),
            _gauge("target", "Agreement below which the route's drift alert fires.", route),
            _gauge("alert", "1 while the route's estimated quality is below its target.", route),
            CounterMetricFamily(
                "slicewise_drift_samples", "Shadow comparisons scored.", labels=route
            ),
            CounterMetricFamily(
                "slicewise_drift_cost_usd",
                "Shadow calls' cost in USD (judge included).",
                labels=route,
            ),
            CounterMetricFamily(
                "slicewise_drift_errors", "Shadow or judge calls that failed.", labels=route
            ),
            CounterMetricFamily(
                "slicewise_drift_dropped",
                "Sampled requests not compared: queue full, or the daily budget spent.",
                labels=["route", "reason"],
            ),
        ]


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"slicewise_drift_{name}", documentation, labels=labels)
