from __future__ import annotations

import os
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from slicewise.errors import ConfigError
from slicewise.ledger import Ledger, Transaction, journal
from slicewise.ledger.migrations import MIGRATIONS, migrate
from slicewise.ledger.schema import migrations


def tx(i: int, cost: str | None = "0.000123", **changes: object) -> Transaction:
    fields: dict[str, object] = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": None if cost is None else Decimal(cost),
        "candidates": ({"model": "openai/gpt-4o-mini", "quality": 0.9},),
    }
    fields.update(changes)
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
        **fields,  # type: ignore[arg-type]
    )


def test_every_recorded_transaction_is_written(ledger_url: str, tmp_path: Path) -> None:
    ledger = Ledger(ledger_url, tmp_path / "journal")
    threads = [
        threading.Thread(target=lambda k=k: [ledger.record(tx(k * 1000 + i)) for i in range(500)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.close()
    assert list((tmp_path / "journal").iterdir()) == []  # all committed, journal retired
    again = Ledger(ledger_url, tmp_path / "journal")
    assert len(again.transactions(limit=10_000)) == 2000
    again.close()


def test_money_is_exact_and_unknown_stays_unknown(ledger_url: str, tmp_path: Path) -> None:
    ledger = Ledger(ledger_url, tmp_path / "journal")
    ledger.record(tx(1, "0.0000000125", baseline_cost_usd=Decimal("123.456789012345")))
    ledger.record(tx(2, None, stream=True, fallbacks=({"model": "x", "error": "timeout"},)))
    rows = {r["request_id"]: r for r in ledger.transactions()}
    assert rows["req_1"]["cost_usd"] == Decimal("0.0000000125")
    assert rows["req_1"]["baseline_cost_usd"] == Decimal("123.456789012345")
    assert rows["req_2"]["cost_usd"] is None
    assert rows["req_2"]["stream"] is True
    assert rows["req_2"]["fallbacks"] == [{"model": "x", "error": "timeout"}]
    assert rows["req_1"]["candidates"][0]["quality"] == 0.9
    ledger.close()


def test_a_request_id_is_written_once(ledger_url: str, tmp_path: Path) -> None:
    ledger = Ledger(ledger_url, tmp_path / "journal")
    ledger.record(tx(1, "0.1"))
    ledger.record(tx(1, "0.2"))
    assert [r["cost_usd"] for r in ledger.transactions()] == [Decimal("0.1")]
    ledger.close()


def test_a_crashed_process_journal_is_replayed_once(ledger_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    Ledger(ledger_url, directory).close()
    already = Ledger(ledger_url, directory)
    already.record(tx(1))
    already.close()
    # what a killed process leaves: a segment no one holds, its last write torn
    lines = b"".join(journal.encode(tx(i)) for i in (1, 2, 3))
    (directory / "999-dead-000001.jsonl").write_bytes(lines + journal.encode(tx(4))[:20])
    ledger = Ledger(ledger_url, directory)
    assert sorted(r["request_id"] for r in ledger.transactions()) == ["req_1", "req_2", "req_3"]
    ledger.close()
    assert list(directory.iterdir()) == []


def test_a_live_process_journal_is_left_alone(tmp_path: Path) -> None:
    url, directory = f"sqlite:///{tmp_path}/l.db", tmp_path / "journal"
    live = journal.Journal(directory)
    live.append(journal.encode(tx(7)))
    Ledger(url, directory).close()
    assert live.current.path.exists()
    os.close(live.current.fd)


def test_migrations_are_tracked_and_run_once(ledger_url: str, tmp_path: Path) -> None:
    ledger = Ledger(ledger_url, tmp_path / "journal")
    assert migrate(ledger.engine) == len(MIGRATIONS)
    with ledger.engine.connect() as db:
        found = sorted(db.scalars(select(migrations.c.version)))
    assert found == list(range(1, len(MIGRATIONS) + 1))
    ledger.close()


def test_a_ledger_from_before_the_migrations_table_is_adopted(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "old.db")
    old.executescript(
        "CREATE TABLE transactions (request_id TEXT PRIMARY KEY, created REAL NOT NULL, "
        "endpoint TEXT NOT NULL, route TEXT NOT NULL, router TEXT NOT NULL, requested TEXT NOT "
        "NULL, model TEXT, status INTEGER NOT NULL, latency_ms REAL NOT NULL, stream INTEGER NOT "
        "NULL, input_tokens INTEGER, output_tokens INTEGER, cost_usd TEXT, baseline_model TEXT, "
        "baseline_cost_usd TEXT, candidates TEXT NOT NULL, fallbacks TEXT NOT NULL, error TEXT, "
        "tenant TEXT, key_id TEXT, extra TEXT NOT NULL); PRAGMA user_version = 1;"
        "INSERT INTO transactions VALUES ('req_old', 1.0, 'openai.chat', 'auto', 'r', 'auto', "
        "NULL, 502, 3.0, 0, NULL, NULL, '0.5', NULL, NULL, '[]', '[]', 'boom', NULL, NULL, '{}')"
    )
    old.close()
    ledger = Ledger(f"sqlite:///{tmp_path}/old.db", tmp_path / "journal")
    ledger.record(tx(1))
    assert {r["request_id"] for r in ledger.transactions()} == {"req_old", "req_1"}
    ledger.close()


def test_an_unknown_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"use sqlite:///PATH or postgresql://"):
        Ledger("mysql://localhost/test", tmp_path / "journal")


def test_record_does_not_wait_for_the_database(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path}/l.db", tmp_path / "journal")
    with ledger.engine.connect().execution_options(sqlite_immediate=True) as db, db.begin():
        ledger.record(tx(1))  # the write lock is held elsewhere: record still returns
    assert [r["request_id"] for r in ledger.transactions()] == ["req_1"]
    ledger.close()
