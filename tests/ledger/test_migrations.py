"""Migration 3 on a ledger that migration 2 left: every row kept, its ``day`` filled."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import MetaData, insert, select

from slicewise.ledger import Ledger
from slicewise.ledger.engine import open_engine
from slicewise.ledger.migrations import MIGRATIONS
from slicewise.ledger.report import report
from slicewise.ledger.schema import migrations, transactions, transactions_v1
from slicewise.ledger.store import day, row
from tests.ledger.test_report import DAY, START, tx

MIDNIGHT = 1_700_006_400.0  # 2023-11-15 00:00:00 UTC


def _ledger_at_version_2(url: str, created: list[float]) -> None:
    engine = open_engine(url)
    old = transactions_v1(MetaData())
    with engine.begin() as db:
        migrations.create(db)
        for version, step in enumerate(MIGRATIONS[:2], start=1):
            step(db)
            db.execute(insert(migrations).values(version=version, applied=time.time()))
        rows = [row(tx(i, created=when)) for i, when in enumerate(created)]
        db.execute(insert(old), [{k: v for k, v in r.items() if k != "day"} for r in rows])
    engine.dispose()


def test_existing_rows_get_their_utc_day(ledger_url: str, tmp_path: Path) -> None:
    created = [START, MIDNIGHT - 0.001, MIDNIGHT, MIDNIGHT + DAY - 1, MIDNIGHT + DAY]
    _ledger_at_version_2(ledger_url, created)
    ledger = Ledger(ledger_url, tmp_path / "journal")  # migrates to 3
    ledger.record(tx(99, created=MIDNIGHT + 2 * DAY))
    ledger.flush()
    with ledger.engine.connect() as db:
        found = db.execute(select(transactions.c.created, transactions.c.day)).all()
    assert sorted(found) == [(when, day(when)) for when in [*created, MIDNIGHT + 2 * DAY]]
    assert day(MIDNIGHT) - day(MIDNIGHT - 0.001) == 1 == day(MIDNIGHT) - day(START)
    days = [(r.group, r.requests) for r in report(ledger, by="day")]
    assert days == [("2023-11-14", 2), ("2023-11-15", 2), ("2023-11-16", 1), ("2023-11-17", 1)]
    ledger.close()


def test_a_row_without_a_day_is_reported_as_dash(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path}/ledger.db", tmp_path / "journal")
    with ledger.engine.begin() as db:  # as a gateway from before migration 3 would write it
        db.execute(insert(transactions), [row(tx(1)) | {"day": None}, row(tx(2))])
    found = [(r.group, r.requests, r.p50_ms) for r in report(ledger, by="day")]
    assert found == [("-", 1, 1.0), ("2023-11-14", 1, 2.0)]
    ledger.close()
