"""Migration 4: the policy decision's columns; old rows keep NULL, new ones round-trip."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import MetaData, insert, select

from slicewise.ledger import Ledger
from slicewise.ledger.engine import open_engine
from slicewise.ledger.migrations import MIGRATIONS
from slicewise.ledger.schema import migrations, transactions, transactions_v3
from slicewise.ledger.store import row
from tests.ledger.test_report import tx

POLICY = {
    "data_class": "regulated",
    "policy_action": "route",
    "policy_rules": ("regulated-on-prem", "injection"),
    "detections": {"CARD": 1, "EMAIL": 2},
    "injection": 0.93,
    "flagged": True,
}


def test_rows_from_before_keep_null_and_new_rows_carry_the_decision(
    ledger_url: str, tmp_path: Path
) -> None:
    engine = open_engine(ledger_url)
    with engine.begin() as db:
        migrations.create(db)
        for version, step in enumerate(MIGRATIONS[:3], start=1):
            step(db)
            db.execute(insert(migrations).values(version=version, applied=time.time()))
        before = transactions_v3(MetaData())
        db.execute(insert(before), [{k: v for k, v in row(tx(1)).items() if k in before.c}])
    engine.dispose()
    ledger = Ledger(ledger_url, tmp_path / "journal")  # migrates to the newest
    ledger.record(tx(2, **POLICY))
    ledger.record(tx(3))
    ledger.flush()
    found = {r["request_id"]: r for r in ledger.transactions(10)}
    assert found["req_1"]["policy_action"] is None and found["req_1"]["flagged"] is None
    assert found["req_3"]["data_class"] is None and found["req_3"]["detections"] is None
    decision = {k: found["req_2"][k] for k in POLICY}
    assert decision == POLICY | {"policy_rules": ["regulated-on-prem", "injection"]}
    with ledger.engine.connect() as db:
        assert db.scalar(select(transactions.c.injection).where(transactions.c.flagged)) == 0.93
    ledger.close()
