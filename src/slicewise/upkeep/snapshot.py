"""Price snapshots: the prices each gateway start served with, kept in the ledger database.

The gateway writes one at start (a few hundred rows at most, once); ``slicewise prices diff``
reads the latest, so a price that moved between two runs (a configuration edit, a new
genai-prices release) shows up next to what the configuration and the table say now.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, func, insert, select

from slicewise.ledger.schema import price_snapshots as snaps


@dataclass(frozen=True)
class SnapshotPrice:
    model: str
    input_usd_per_mtok: Decimal | None
    output_usd_per_mtok: Decimal | None
    source: str


def take(engine: Engine, prices: Iterable[SnapshotPrice], taken: float | None = None) -> str:
    """Store this run's prices; returns the run's id."""
    run, taken = "run_" + os.urandom(8).hex(), time.time() if taken is None else taken
    rows = [
        {
            "run": run,
            "model": p.model,
            "taken": taken,
            "input_usd_per_mtok": p.input_usd_per_mtok,
            "output_usd_per_mtok": p.output_usd_per_mtok,
            "source": p.source,
        }
        for p in prices
    ]
    if rows:
        with engine.begin() as db:
            db.execute(insert(snaps), rows)
    return run


def latest(engine: Engine) -> tuple[float | None, dict[str, SnapshotPrice]]:
    """The last run's time and prices by model; ``(None, {})`` before any run."""
    with engine.connect() as db:
        taken = db.scalar(select(func.max(snaps.c.taken)))
        if taken is None:
            return None, {}
        run = db.scalar(select(snaps.c.run).where(snaps.c.taken == taken).limit(1))
        found = db.execute(select(snaps).where(snaps.c.run == run)).all()
    return taken, {
        row.model: SnapshotPrice(
            row.model, row.input_usd_per_mtok, row.output_usd_per_mtok, row.source
        )
        for row in found
    }
