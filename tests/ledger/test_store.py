from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from slicewise.errors import ConfigError
from slicewise.ledger import Ledger, Transaction


def tx(i: int, cost: str | None = "0.000123") -> Transaction:
    return Transaction(
        f"req_{i}",
        time.time(),
        "openai.chat",
        "auto",
        "coldstart",
        "auto",
        "openai/gpt-4o-mini",
        200,
        12.5,
        input_tokens=10,
        output_tokens=5,
        cost_usd=None if cost is None else Decimal(cost),
        candidates=({"model": "openai/gpt-4o-mini", "quality": 0.9},),
    )


def test_every_recorded_transaction_is_written(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path}/l.db")
    threads = [
        threading.Thread(target=lambda k=k: [ledger.record(tx(k * 1000 + i)) for i in range(500)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.close()
    again = Ledger(f"sqlite:///{tmp_path}/l.db")
    assert len(again.transactions(limit=10_000)) == 2000
    again.close()


def test_money_is_exact_and_unknown_stays_unknown(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path}/l.db")
    ledger.record(tx(1, "0.0000000125"))
    ledger.record(tx(2, None))
    rows = {r["request_id"]: r for r in ledger.transactions()}
    assert rows["req_1"]["cost_usd"] == Decimal("0.0000000125")
    assert rows["req_2"]["cost_usd"] is None
    assert rows["req_1"]["candidates"][0]["quality"] == 0.9
    ledger.close()


def test_only_sqlite_urls_for_now(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="use sqlite:///PATH"):
        Ledger("postgresql://localhost/test")
