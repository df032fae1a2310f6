"""Reports over the ledger: requests, tokens, cost against the baseline, latency, failures.

Aggregation runs in SQL. Money stays exact: PostgreSQL sums NUMERIC; SQLite, which keeps money
as decimal text, sums each row as integer pico-dollars (exact for any cost under $1,000 a row
written to 12 decimals or fewer; SQLite stops with "integer overflow" past $9.2 million in one
group rather than round). Latency percentiles interpolate like ``percentile_cont``: in SQL on
PostgreSQL, in Python over the selected latencies on SQLite, which has no such function.

Savings count only transactions whose cost and baseline cost are both known; their share is of
the baseline cost of those same transactions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args

import numpy as np
from sqlalchemy import Engine, Float, Integer, Select, and_, case, cast, func, literal, select
from sqlalchemy.sql import ColumnElement

from slicewise.ledger.schema import transactions as t
from slicewise.ledger.store import Ledger

By = Literal["day", "tenant", "key", "model", "route", "all"]
GROUPINGS: tuple[str, ...] = get_args(By)
PICO = Decimal(10) ** -12


@dataclass(frozen=True)
class Row:
    group: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    """Sum of the known costs."""
    unpriced: int
    """Requests served by a model whose price is unknown (their cost is not in ``cost_usd``)."""
    baseline_cost_usd: Decimal
    savings_usd: Decimal
    savings_share: float | None
    p50_ms: float | None
    p95_ms: float | None
    error_rate: float
    fallback_rate: float


def report(
    source: Engine | Ledger, since: float | None = None, by: By = "day", tenant: str | None = None
) -> list[Row]:
    """One row per group, in group order. ``since`` is Unix time; ``tenant`` keeps only that
    tenant's transactions (the only view a tenant may have)."""
    if isinstance(source, Ledger):
        source.flush()
        source = source.engine
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}; use one of {', '.join(GROUPINGS)}")
    postgres = source.dialect.name == "postgresql"
    key = _key(by, postgres)
    where = _where(since, tenant)
    with source.connect() as db:
        sums = db.execute(_sums(key, where, postgres)).all()
        latencies = {} if postgres else _latencies(db, key, where)
    return [_row(found, postgres, latencies.get(found.group)) for found in sums]


def _key(by: str, postgres: bool) -> ColumnElement[str]:
    if by == "day":
        if postgres:
            return func.to_char(func.timezone("UTC", func.to_timestamp(t.c.created)), "YYYY-MM-DD")
        return func.date(t.c.created, "unixepoch")
    column = {"tenant": t.c.tenant, "key": t.c.key_id, "model": t.c.model, "route": t.c.route}
    if by in column:
        return func.coalesce(func.nullif(column[by], ""), "-")
    return literal("all")


def _where(since: float | None, tenant: str | None) -> list[ColumnElement[bool]]:
    where = []
    if since is not None:
        where.append(t.c.created >= since)
    if tenant is not None:
        where.append(t.c.tenant == tenant)
    return where


def _money(column: Any, postgres: bool) -> Any:
    """A money column as something SQL can sum exactly."""
    if postgres:
        return column
    return cast(func.round(cast(column, Float) * 1e12), Integer)


def _sums(key: ColumnElement[str], where: list[ColumnElement[bool]], postgres: bool) -> Select[Any]:
    cost, baseline = _money(t.c.cost_usd, postgres), _money(t.c.baseline_cost_usd, postgres)
    both = and_(t.c.cost_usd.is_not(None), t.c.baseline_cost_usd.is_not(None))
    columns: list[ColumnElement[Any]] = [
        key.label("group"),
        func.count().label("requests"),
        func.coalesce(func.sum(t.c.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(t.c.output_tokens), 0).label("output_tokens"),
        func.sum(cost).label("cost"),
        func.sum(case((and_(t.c.cost_usd.is_(None), t.c.model.is_not(None)), 1), else_=0)).label(
            "unpriced"
        ),
        func.sum(baseline).label("baseline"),
        func.sum(case((both, baseline))).label("compared"),
        func.sum(case((both, baseline - cost))).label("saved"),
        func.sum(case((t.c.status >= 400, 1), else_=0)).label("errors"),
        func.sum(case((t.c.fallbacks != "[]", 1), else_=0)).label("fallbacks"),
    ]
    if postgres:
        columns += [
            func.percentile_cont(0.5).within_group(t.c.latency_ms).label("p50"),
            func.percentile_cont(0.95).within_group(t.c.latency_ms).label("p95"),
        ]
    return select(*columns).where(*where).group_by(key).order_by(key)


def _latencies(
    db: Any, key: ColumnElement[str], where: list[ColumnElement[bool]]
) -> dict[str, Any]:
    """Each group's latencies, for the percentiles SQLite cannot compute."""
    found: dict[str, list[float]] = defaultdict(list)
    for group, latency in db.execute(select(key, t.c.latency_ms).where(*where)):
        found[group].append(latency)
    return {group: np.asarray(values) for group, values in found.items()}


def _row(found: Any, postgres: bool, latencies: Any) -> Row:
    usd = _usd if postgres else _pico
    compared, saved = usd(found.compared), usd(found.saved)
    if postgres:
        p50, p95 = found.p50, found.p95
    else:
        p50, p95 = (None, None) if latencies is None else np.percentile(latencies, [50, 95])
    return Row(
        group=str(found.group),
        requests=found.requests,
        input_tokens=int(found.input_tokens),
        output_tokens=int(found.output_tokens),
        cost_usd=usd(found.cost),
        unpriced=int(found.unpriced),
        baseline_cost_usd=usd(found.baseline),
        savings_usd=saved,
        savings_share=float(saved / compared) if compared else None,
        p50_ms=None if p50 is None else float(p50),
        p95_ms=None if p95 is None else float(p95),
        error_rate=found.errors / found.requests,
        fallback_rate=found.fallbacks / found.requests,
    )


def _usd(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value.normalize()


def _pico(value: int | None) -> Decimal:
    return Decimal(0) if value is None else (Decimal(value) * PICO).normalize()
