"""The writer process: the gateway's default way to put journalled rows into the database."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import cast

import pytest

from slicewise.ledger import Ledger, journal, writer
from tests.ledger.test_store import tx


def test_every_transaction_reaches_the_database(ledger_url: str, tmp_path: Path) -> None:
    ledger = Ledger(ledger_url, tmp_path / "journal", writer="process")
    threads = [
        threading.Thread(target=lambda k=k: [ledger.record(tx(k * 1000 + i)) for i in range(500)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger.transactions(limit=10_000)) == 2000  # flushed through the child
    ledger.close()
    assert list((tmp_path / "journal").iterdir()) == []


def test_sealed_segments_are_retired_once_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "SEGMENT_BYTES", 2_000)
    directory = tmp_path / "journal"
    ledger = Ledger(f"sqlite:///{tmp_path}/l.db", directory, writer="process")
    for i in range(300):
        ledger.record(tx(i))
    ledger.flush()
    assert len(list(directory.glob("*.jsonl"))) == 1  # only the segment being written
    assert len(ledger.transactions(limit=1000)) == 300
    ledger.close()
    assert list(directory.iterdir()) == []


def test_rows_survive_the_writer_process_dying(tmp_path: Path) -> None:
    url, directory = f"sqlite:///{tmp_path}/l.db", tmp_path / "journal"
    ledger = Ledger(url, directory, writer="process")
    ledger.record(tx(1))
    ledger.flush()
    os.kill(ledger._writer._child.pid, signal.SIGKILL)  # type: ignore[union-attr]
    ledger.record(tx(2))  # journalled; the child is gone
    ledger.close()
    again = Ledger(url, directory)  # the next start replays the journal
    assert sorted(r["request_id"] for r in again.transactions()) == ["req_1", "req_2"]
    again.close()


def test_a_dead_writer_process_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "SEGMENT_BYTES", 2_000)
    monkeypatch.setattr(writer, "RESPAWN", 0.0)
    directory = tmp_path / "journal"
    ledger = Ledger(f"sqlite:///{tmp_path}/l.db", directory, writer="process")
    process = cast(writer.ProcessWriter, ledger._writer)
    for i in range(100):
        ledger.record(tx(i))
    ledger.flush()
    first = process._child
    first.kill()
    first.wait()
    for i in range(100, 300):  # new segments: the first seal starts another child
        ledger.record(tx(i))
    assert process._child is not first
    ledger.flush()
    assert process.committed()[0] == 300  # counted once each, though some were read twice
    assert len(ledger.transactions(limit=1000)) == 300
    assert len(list(directory.glob("*.jsonl"))) == 1
    ledger.close()
    assert list(directory.iterdir()) == []
