"""The ledger: journalled at once, written to the database off the request's path.

``record`` appends the transaction to this process's journal (see ``ledger.journal``) and hands
it to a writer (see ``ledger.writer``: a thread, or by default for the gateway a child
process), then returns: a few microseconds, no database on the request's path. The writer
inserts what has queued up in one database transaction at a time; segments whose rows are all
committed are retired, and ``close`` drains everything before it returns. At start, journal
segments left by a killed process are replayed, so a crash loses nothing the clients were
answered.

A row that fails to commit (the database is down, or rejects it) is logged and stays in the
journal until the next start replays it; retrying while running is not done yet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import Engine, Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from slicewise.ledger import journal
from slicewise.ledger.engine import open_engine, sqlite_path
from slicewise.ledger.migrations import migrate
from slicewise.ledger.record import Transaction
from slicewise.ledger.schema import transactions
from slicewise.ledger.writer import BATCH, ProcessWriter, ThreadWriter

logger = logging.getLogger(__name__)

Writer = Literal["thread", "process"]


def default_journal(url: str) -> Path:
    """Beside a SQLite file; for a server database, in the working directory."""
    path = sqlite_path(url)
    return Path("slicewise-ledger.journal") if path is None else Path(f"{path}.journal")


class Ledger:
    def __init__(
        self,
        url: str,
        journal_dir: str | Path | None = None,
        fsync: bool = False,
        writer: Writer = "thread",
    ):
        self.engine: Engine = open_engine(url)
        migrate(self.engine)
        directory = Path(journal_dir) if journal_dir else default_journal(url)
        replay(self.engine, directory)
        self._journal = journal.Journal(directory, fsync)
        self._lock = threading.Lock()
        self._sent = 0
        self._writer: ThreadWriter | ProcessWriter
        if writer == "process":
            self._writer = ProcessWriter(url, self._journal)
        else:
            insert = insert_ignoring_duplicates(self.engine)
            self._writer = ThreadWriter(self.engine, insert, write)

    def record(self, tx: Transaction) -> None:
        """Journal ``tx`` and hand it to the writer; never waits on the database."""
        line = journal.encode(tx)
        with self._lock:  # the journal's order is the writer's, so retiring a segment is exact
            self._journal.append(line)
            self._writer.put(tx)
            self._sent += 1
            if self._journal.size >= journal.SEGMENT_BYTES:
                self._writer.sealed(self._journal.rotate(), self._sent)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything recorded so far is committed."""
        self._writer.wait(self._sent, timeout)

    def close(self) -> None:
        self._writer.close(self._journal.current, self._sent)
        self.engine.dispose()

    def transactions(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest transactions, newest first (for tests and reports)."""
        self.flush()
        query = select(transactions).order_by(transactions.c.created.desc()).limit(limit)
        with self.engine.connect() as db:
            return [_decode(dict(row._mapping)) for row in db.execute(query)]


class NullLedger(Ledger):
    """``ledger.enabled: false``: records nothing and journals nothing. The database is still
    opened and migrated, because API keys and tenants live there; reports over it are empty.
    Journal segments a crashed process left wait for a start with the ledger enabled."""

    def __init__(
        self,
        url: str,
        journal_dir: str | Path | None = None,
        fsync: bool = False,
        writer: Writer = "thread",
    ):
        self.engine = open_engine(url)
        migrate(self.engine)

    def record(self, tx: Transaction) -> None:
        pass

    def flush(self, timeout: float = 10.0) -> None:
        pass

    def close(self) -> None:
        self.engine.dispose()

    def transactions(self, limit: int = 100) -> list[dict[str, Any]]:
        return []


def replay(engine: Engine, directory: Path) -> int:
    """Commit what crashed processes journalled and the database lacks; returns rows read."""
    insert = insert_ignoring_duplicates(engine)
    count = 0
    for segment in journal.orphans(directory):
        found = journal.read(segment)
        chunks = [found[i : i + BATCH] for i in range(0, len(found), BATCH)]
        results = [write(engine, insert, chunk) for chunk in chunks]  # every chunk, no short cut
        committed = all(results)
        journal.retire(segment, committed)
        count += len(found)
    if count:
        logger.info("ledger: replayed %d journalled transactions from %s", count, directory)
    journal.forget_progress(directory)
    return count


def write(engine: Engine, insert: Insert, batch: list[Transaction]) -> bool:
    """Insert ``batch`` (rows already present are kept); False if any row failed."""
    try:
        with engine.begin() as db:
            db.execute(insert, [row(tx) for tx in batch])
        return True
    except SQLAlchemyError:
        # the writer thread's edge: log and carry on; one bad row must not drop the batch
        logger.exception("ledger write of %d rows failed; retrying one by one", len(batch))
    results = [_write_one(engine, insert, tx) for tx in batch]  # every row, no short cut
    return all(results)


def _write_one(engine: Engine, insert: Insert, tx: Transaction) -> bool:
    try:
        with engine.begin() as db:
            db.execute(insert, [row(tx)])
        return True
    except SQLAlchemyError:
        logger.exception("ledger row %s could not be written", tx.request_id)
        return False


def insert_ignoring_duplicates(engine: Engine) -> Insert:
    if engine.dialect.name == "sqlite":
        return sqlite.insert(transactions).on_conflict_do_nothing(index_elements=["request_id"])
    return postgresql.insert(transactions).on_conflict_do_nothing(index_elements=["request_id"])


POLICY_FIELDS = (
    "data_class",
    "policy_action",
    "policy_rules",
    "detections",
    "injection",
    "flagged",
)


def day(created: float) -> int:
    """The UTC day of a Unix time, as whole days since 1970-01-01."""
    return int(created // 86400)


def row(tx: Transaction) -> dict[str, Any]:
    return {
        "request_id": tx.request_id,
        "created": tx.created,
        "day": day(tx.created),
        "endpoint": tx.endpoint,
        "route": tx.route,
        "router": tx.router,
        "requested": tx.requested,
        "model": tx.model,
        "status": tx.status,
        "latency_ms": tx.latency_ms,
        "stream": tx.stream,
        "input_tokens": tx.input_tokens,
        "output_tokens": tx.output_tokens,
        "cost_usd": tx.cost_usd,
        "baseline_model": tx.baseline_model,
        "baseline_cost_usd": tx.baseline_cost_usd,
        "candidates": _json(tx.candidates),
        "fallbacks": _json(tx.fallbacks),
        "error": tx.error,
        "tenant": tx.tenant,
        "key_id": tx.key_id,
        "extra": _json(tx.extra),
        **_policy(tx),
    }


def _policy(tx: Transaction) -> dict[str, Any]:
    """The policy columns: NULL for a request served without policies."""
    if tx.policy_action is None:
        return dict.fromkeys(POLICY_FIELDS)
    return {
        "data_class": tx.data_class,
        "policy_action": tx.policy_action,
        "policy_rules": _json(tx.policy_rules),
        "detections": _json(tx.detections),
        "injection": tx.injection,
        "flagged": tx.flagged,
    }


def _json(value: Iterable[Any] | dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


def _decode(found: dict[str, Any]) -> dict[str, Any]:
    for key in ("candidates", "fallbacks", "extra"):
        found[key] = orjson.loads(found[key])
    for key in ("policy_rules", "detections"):
        if found.get(key) is not None:
            found[key] = orjson.loads(found[key])
    if found.get("flagged") is not None:
        found["flagged"] = bool(found["flagged"])
    found["stream"] = bool(found["stream"])
    return found
