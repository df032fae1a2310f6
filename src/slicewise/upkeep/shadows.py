"""Drift's shadow comparisons in the ledger database: written one by one, summed per route.

A comparison is written from a drift worker through a thread (``asyncio.to_thread``), never on
a request's path. Unlike served transactions it has no journal: a crash loses the few
comparisons in flight, which only thins a sample.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select

from slicewise.ledger.schema import shadow_comparisons as shadows
from slicewise.upkeep.estimate import wilson


@dataclass(frozen=True)
class Comparison:
    id: str
    created: float
    route: str
    served_model: str
    reference_model: str
    compare: str
    agreement: float | None
    status: int
    latency_ms: float
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: Decimal | None
    error: str | None


@dataclass(frozen=True)
class RouteSummary:
    route: str
    samples: int
    """Comparisons that were scored."""
    failed: int
    agreement: float | None
    low: float
    high: float
    cost_usd: Decimal
    unpriced: int
    reference: str


def store(engine: Engine, comparison: Comparison) -> None:
    with engine.begin() as db:
        db.execute(insert(shadows).values(**asdict(comparison)))


def summary(engine: Engine, since: float | None = None) -> list[RouteSummary]:
    """Per route since ``since``: scored samples, mean agreement and its interval, cost."""
    scored = func.count(shadows.c.agreement)
    query = select(
        shadows.c.route,
        scored.label("samples"),
        (func.count() - scored).label("failed"),
        func.avg(shadows.c.agreement).label("agreement"),
        func.max(shadows.c.reference_model).label("reference"),
    ).group_by(shadows.c.route)
    if since is not None:
        query = query.where(shadows.c.created >= since)
    with engine.connect() as db:
        rows = db.execute(query.order_by(shadows.c.route)).all()
        costs = _costs(db, since)
    return [_summary(row, *costs.get(row.route, (Decimal(0), 0))) for row in rows]


def _costs(db: Connection, since: float | None) -> dict[str, tuple[Decimal, int]]:
    """Exact cost per route (money is summed in Python: few rows, any database)."""
    query = select(shadows.c.route, shadows.c.cost_usd)
    if since is not None:
        query = query.where(shadows.c.created >= since)
    out: dict[str, tuple[Decimal, int]] = {}
    for route, cost in db.execute(query):
        total, unpriced = out.get(route, (Decimal(0), 0))
        out[route] = (total + cost, unpriced) if cost is not None else (total, unpriced + 1)
    return out


def _summary(row: Row[Any], cost: Decimal, unpriced: int) -> RouteSummary:
    samples, mean = row.samples, row.agreement
    low, high = wilson(0.0 if mean is None else float(mean), samples)
    return RouteSummary(
        row.route,
        samples,
        row.failed,
        None if mean is None else float(mean),
        low,
        high,
        cost,
        unpriced,
        row.reference,
    )
