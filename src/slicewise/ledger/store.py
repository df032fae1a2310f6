"""SQLite ledger written by one background thread, so requests never wait on the disk.

``record`` puts a transaction on a queue and returns at once; the writer thread inserts what
has queued up in one database transaction at a time (WAL mode). ``close`` drains the queue
before it returns, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from slicewise.errors import ConfigError
from slicewise.ledger.migrations import migrate
from slicewise.ledger.record import Transaction

logger = logging.getLogger(__name__)

COLUMNS = (
    "request_id",
    "created",
    "endpoint",
    "route",
    "router",
    "requested",
    "model",
    "status",
    "latency_ms",
    "stream",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "baseline_model",
    "baseline_cost_usd",
    "candidates",
    "fallbacks",
    "error",
    "tenant",
    "key_id",
    "extra",
)
INSERT = (
    f"INSERT OR REPLACE INTO transactions ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(COLUMNS))})"
)
BATCH = 512
_STOP = object()


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"ledger.url {url!r}: use sqlite:///PATH (PostgreSQL comes later)")
    return Path(url.removeprefix("sqlite:///"))


class Ledger:
    def __init__(self, url: str):
        self.path = sqlite_path(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        migrate(db)
        db.close()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._write_loop, name="slicewise-ledger", daemon=True
        )
        self._thread.start()

    def record(self, tx: Transaction) -> None:
        """Queue ``tx`` for writing; never blocks on the disk."""
        self._queue.put(tx)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything recorded so far is on disk."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def transactions(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest transactions, newest first (for tests and reports)."""
        self.flush()
        db = self._connect()
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT * FROM transactions ORDER BY created DESC LIMIT ?", (limit,)
        ).fetchall()
        db.close()
        return [_decode(dict(row)) for row in rows]

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _write_loop(self) -> None:
        db = self._connect()
        try:
            while True:
                batch, waiters, stop = self._take()
                if batch:
                    self._write(db, batch)
                for waiter in waiters:
                    waiter.set()
                if stop:
                    return
        finally:
            db.close()

    def _take(self) -> tuple[list[Transaction], list[threading.Event], bool]:
        """What has queued up: transactions, flush waiters, and whether to stop."""
        batch: list[Transaction] = []
        waiters: list[threading.Event] = []
        item = self._queue.get()
        while True:
            if item is _STOP:
                return batch, waiters, True
            if isinstance(item, threading.Event):
                waiters.append(item)
            else:
                batch.append(item)
            if len(batch) >= BATCH or self._queue.empty():
                return batch, waiters, False
            item = self._queue.get()

    def _write(self, db: sqlite3.Connection, batch: list[Transaction]) -> None:
        try:
            db.execute("BEGIN")
            db.executemany(INSERT, [_row(tx) for tx in batch])
            db.execute("COMMIT")
        except sqlite3.Error:
            # The process edge of the writer thread: log and keep the thread alive; the
            # rows are retried one by one so a single bad row cannot drop the batch.
            logger.exception("ledger write of %d rows failed; retrying one by one", len(batch))
            db.execute("ROLLBACK")
            for tx in batch:
                self._write_one(db, tx)

    def _write_one(self, db: sqlite3.Connection, tx: Transaction) -> None:
        try:
            db.execute(INSERT, _row(tx))
        except sqlite3.Error:
            logger.exception("ledger row %s could not be written", tx.request_id)


def _row(tx: Transaction) -> tuple[Any, ...]:
    return (
        tx.request_id,
        tx.created,
        tx.endpoint,
        tx.route,
        tx.router,
        tx.requested,
        tx.model,
        tx.status,
        tx.latency_ms,
        int(tx.stream),
        tx.input_tokens,
        tx.output_tokens,
        _money(tx.cost_usd),
        tx.baseline_model,
        _money(tx.baseline_cost_usd),
        orjson.dumps(tx.candidates).decode(),
        orjson.dumps(tx.fallbacks).decode(),
        tx.error,
        tx.tenant,
        tx.key_id,
        orjson.dumps(tx.extra).decode(),
    )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("candidates", "fallbacks", "extra"):
        row[key] = orjson.loads(row[key])
    for key in ("cost_usd", "baseline_cost_usd"):
        row[key] = None if row[key] is None else Decimal(row[key])
    row["stream"] = bool(row["stream"])
    return row


def iter_rows(ledger: Ledger) -> Iterator[dict[str, Any]]:
    yield from ledger.transactions(limit=1_000_000)
