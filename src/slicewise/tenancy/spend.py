"""Budget periods (UTC day and month) and what the ledger says was spent in one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, Float, Integer, cast, func, select

from slicewise.ledger.schema import transactions as t

NANO = Decimal(10) ** 9
"""Budget counters hold nano-dollars."""
UTC = dt.UTC


@dataclass(frozen=True)
class Period:
    name: str
    """``daily`` or ``monthly``."""
    tag: str
    """``2024-06-01`` or ``2024-06``: part of the counter's key."""
    starts: float
    resets: float
    """Unix time of the next period's start."""

    def reset_text(self) -> str:
        return dt.datetime.fromtimestamp(self.resets, UTC).strftime("%Y-%m-%d %H:%M UTC")


def periods(now: float) -> tuple[Period, Period]:
    """Today and this month, in UTC."""
    day = dt.datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    return (
        Period("daily", f"{day:%Y-%m-%d}", day.timestamp(), (day + dt.timedelta(1)).timestamp()),
        Period("monthly", f"{month:%Y-%m}", month.timestamp(), following.timestamp()),
    )


def nano(usd: Decimal) -> int:
    """Dollars as whole nano-dollars, rounded up (a reservation never falls short)."""
    return int((usd * NANO).to_integral_value(rounding="ROUND_CEILING"))


def spent(engine: Engine, scope: str, name: str, since: float) -> int:
    """Nano-dollars the ledger records for tenant or key ``name`` since ``since``."""
    column = t.c.tenant if scope == "tenant" else t.c.key_id
    if engine.dialect.name == "postgresql":
        total = func.sum(t.c.cost_usd)
    else:  # decimal text: each row as integer nano-dollars
        total = func.sum(cast(func.round(cast(t.c.cost_usd, Float) * 1e9), Integer))
    query = select(func.coalesce(total, 0)).where(column == name, t.c.created >= since)
    with engine.connect() as db:
        found = db.execute(query).scalar_one()
    return nano(Decimal(found)) if isinstance(found, Decimal) else int(found)
