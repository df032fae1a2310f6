"""Reports over the ledger: requests, tokens, cost against the baseline, latency, failures.

Aggregation runs in SQL. Money stays exact: PostgreSQL sums NUMERIC; SQLite, which keeps money
as decimal text, sums each row as integer pico-dollars (exact for any cost under $1,000 a row
written to 12 decimals or fewer; SQLite stops with "integer overflow" past $9.2 million in one
group rather than round). Latency percentiles interpolate like ``percentile_cont``: in SQL on
PostgreSQL; on SQLite, which has no such function, exactly too, by reading each group's two
latencies around the rank (``ORDER BY latency_ms LIMIT 2 OFFSET rank``) from a covering index
(group, latency_ms, created) that migration 3 adds (and migration 6 for ``all``: latency_ms,
created), so no latency list reaches Python. The seek is cheap for a grouping column. Where no
such index covers the filter (a report narrowed to a tenant and grouped by something else),
one window query sorts the selected rows in SQLite and returns the latencies at the ranks:
the same result, slower.

Savings count only transactions whose cost and baseline cost are both known; their share is of
the baseline cost of those same transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql import ColumnElement

from slicewise.ledger.schema import transactions as t
from slicewise.ledger.store import Ledger

By = Literal["day", "tenant", "key", "model", "route", "all"]
GROUPINGS: tuple[str, ...] = get_args(By)
PICO = Decimal(10) ** -12
EPOCH = date(1970, 1, 1)
QUANTILES = (0.5, 0.95)
COLUMNS = {"tenant": t.c.tenant, "key": t.c.key_id, "model": t.c.model, "route": t.c.route}


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
        sums = db.execute(_sums(key, where, postgres, by == "day")).all()
        if postgres:
            return [_row(found, True, found.p50, found.p95) for found in sums]
        if tenant is not None and by not in ("tenant", "all"):
            ranked = _ranked(db, key, where)
            return [_row(found, False, *ranked[found.group]) for found in sums]
        return [_row(found, False, *_percentiles(db, by, found, where)) for found in sums]


def _key(by: str, postgres: bool) -> ColumnElement[str]:
    if by == "day":  # from the day column, once per group rather than once per row
        if postgres:
            first = cast(literal(EPOCH.isoformat()), Date)
            return func.coalesce(func.to_char(first + t.c.day, "YYYY-MM-DD"), "-")
        return func.coalesce(func.date(t.c.day * 86400, "unixepoch"), "-")
    if by in COLUMNS:
        return func.coalesce(func.nullif(COLUMNS[by], ""), "-")
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


def _sums(
    key: ColumnElement[str], where: list[ColumnElement[bool]], postgres: bool, by_day: bool
) -> Select[Any]:
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
    # by the day column, not the date per row; "+ 0" keeps SQLite from walking the latency
    # index for the order and then reading every row out of order (twice as slow over a year)
    grouped = (t.c.day if postgres else t.c.day + 0) if by_day else key
    return select(*columns).where(*where).group_by(grouped).order_by(grouped)


def _percentiles(
    db: Connection, by: str, found: Any, where: list[ColumnElement[bool]]
) -> tuple[float | None, float | None]:
    """A group's p50 and p95 on SQLite, each read at its rank (see the module docstring)."""
    group = [*where, _in_group(db, by, found.group)]
    return _at(db, group, found.requests, 0.5), _at(db, group, found.requests, 0.95)


def _in_group(db: Connection, by: str, group: str) -> ColumnElement[bool]:
    """The rows of ``group``, written so SQLite can seek them in the group's latency index."""
    if by == "day":
        if group == "-":  # written by a gateway older than migration 3
            return t.c.day.is_(None)
        return t.c.day == (date.fromisoformat(group) - EPOCH).days
    if by not in COLUMNS:
        return literal(True)
    column = COLUMNS[by]
    if group != "-":
        return column == group
    blank = or_(column == "", column == "-")  # grouped with NULL, but not seekable with it
    if db.execute(select(literal(1)).where(blank).limit(1)).first() is None:
        return column.is_(None)
    return or_(column.is_(None), blank)


def _at(db: Connection, group: list[ColumnElement[bool]], count: int, q: float) -> float | None:
    """``percentile_cont(q)`` of the group's ``count`` latencies: the two around the rank."""
    if count == 0:
        return None
    rank = q * (count - 1)
    below = int(rank)
    query = select(t.c.latency_ms).where(*group).order_by(t.c.latency_ms).limit(2).offset(below)
    found = [value for (value,) in db.execute(query)]
    if len(found) < 2:
        return found[0] if found else None
    return float(found[0] + (found[1] - found[0]) * (rank - below))


def _ranked(
    db: Connection, key: ColumnElement[str], where: list[ColumnElement[bool]]
) -> dict[str, tuple[float | None, float | None]]:
    """Every group's p50 and p95 from one sort in SQLite, for filters no index covers."""
    order = func.row_number().over(partition_by=key, order_by=t.c.latency_ms)
    rows = select(
        key.label("group"),
        t.c.latency_ms.label("value"),
        order.label("rank"),
        func.count().over(partition_by=key).label("count"),
    )
    inner = rows.where(*where).subquery()
    wanted = [cast(q * (inner.c.count - 1), Integer) + k for q in QUANTILES for k in (1, 2)]
    found: dict[str, dict[int, float]] = {}
    counts: dict[str, int] = {}
    for group, value, rank, count in db.execute(select(inner).where(inner.c.rank.in_(wanted))):
        found.setdefault(group, {})[rank - 1] = value
        counts[group] = count
    return {group: _interpolate(found[group], counts[group]) for group in found}


def _interpolate(at: dict[int, float], count: int) -> tuple[float | None, float | None]:
    """``percentile_cont`` at each of ``QUANTILES`` from the values at the ranks around it."""
    ranks = [q * (count - 1) for q in QUANTILES]
    below = [int(rank) for rank in ranks]
    p50, p95 = (
        at[b] + (at.get(b + 1, at[b]) - at[b]) * (rank - b)
        for rank, b in zip(ranks, below, strict=True)
    )
    return p50, p95


def _row(found: Any, postgres: bool, p50: float | None, p95: float | None) -> Row:
    usd = _usd if postgres else _pico
    compared, saved = usd(found.compared), usd(found.saved)
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
