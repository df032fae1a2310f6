"""Ledger speed: sustained writes per second (SQLite, PostgreSQL; by the writer process and by
a writer thread), ``record()`` cost per call,
and ``slicewise report`` over one million transactions (spread over 30 days; ``--since 7d`` and
all of them, by each grouping). Prints JSON.

    python bench/ledger.py [--rows 1000000] [--writes 50000] [--pg postgresql://root@127.0.0.1/test]

PostgreSQL runs in a schema of its own, dropped at the end; it is skipped when unreachable.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import OperationalError

from slicewise.ledger import Ledger, Transaction
from slicewise.ledger.report import report
from slicewise.ledger.schema import transactions
from slicewise.ledger.store import Writer, row

MODELS = ("openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-latest")


def synthetic(i: int, now: float, rng: random.Random) -> Transaction:
    tokens = rng.randint(50, 2000)
    return Transaction(
        request_id=f"req_{i:012d}",
        created=now - rng.random() * 30 * 86400,
        endpoint="openai.chat",
        route=rng.choice(("auto", "support-triage", "explicit")),
        router="knn",
        requested="auto",
        model=rng.choice(MODELS),
        status=200 if rng.random() > 0.02 else 502,
        latency_ms=rng.lognormvariate(6, 0.5),
        input_tokens=tokens,
        output_tokens=tokens // 4,
        cost_usd=Decimal(tokens * 15) / 10**8,
        baseline_cost_usd=Decimal(tokens * 250) / 10**8,
        candidates=({"model": MODELS[0], "quality": 0.91, "cost": 0.0001},),
        fallbacks=() if rng.random() > 0.01 else ({"model": MODELS[1], "error": "timeout"},),
        tenant=f"tenant-{rng.randint(1, 20)}",
        key_id=f"key-{rng.randint(1, 100)}",
    )


def writes(url: str, journal: Path, count: int, writer: Writer, first: int) -> dict[str, float]:
    """Record ``count`` transactions as fast as possible; time until all are committed."""
    rng, now = random.Random(1), time.time()
    batch = [synthetic(first + i, now, rng) for i in range(count)]
    ledger = Ledger(url, journal, writer=writer)
    started = time.perf_counter()
    for tx in batch:
        ledger.record(tx)
    recorded = time.perf_counter() - started
    ledger.close()
    committed = time.perf_counter() - started
    return {
        "writes_per_s": round(count / committed),
        "record_us_per_call": round(recorded / count * 1e6, 2),
    }


def fill(url: str, journal: Path, count: int) -> float:
    """Bulk-insert ``count`` synthetic transactions (not through ``record``); seconds taken."""
    Ledger(url, journal).close()  # migrate
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    rng, now, started = random.Random(2), time.time(), time.perf_counter()
    with engine.begin() as db:
        for start in range(0, count, 20_000):
            stop = min(count, start + 20_000)
            rows = [row(synthetic(10**9 + i, now, rng)) for i in range(start, stop)]
            db.execute(insert(transactions), rows)
    engine.dispose()
    return time.perf_counter() - started


def reports(url: str, journal: Path) -> dict[str, float]:
    ledger = Ledger(url, journal)
    timings = {}
    week = time.time() - 7 * 86400
    for period, since in (("7d", week), ("all", None)):
        for by in ("day", "model", "route", "tenant", "key", "all"):
            started = time.perf_counter()
            report(ledger.engine, since, by)  # type: ignore[arg-type]
            timings[f"report_{period}_by_{by}_s"] = round(time.perf_counter() - started, 3)
    ledger.close()
    return timings


def backend(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        journal = Path(scratch) / "journal"
        found: dict[str, Any] = {
            f"{writer}_writer": writes(url, journal, args.writes, writer, k * args.writes)
            for k, writer in enumerate(("process", "thread"))
        }
        found["fill_s"] = round(fill(url, journal, args.rows), 1)
        found["report_rows"] = args.rows
        found.update(reports(url, journal))
    return found


def postgres(admin: str) -> tuple[str, Any] | None:
    engine = create_engine(admin.replace("postgresql://", "postgresql+psycopg://"))
    schema = f"ledger_bench_{os.getpid()}"
    try:
        with engine.begin() as db:
            db.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError:
        return None
    return f"{admin}?options=-csearch_path%3D{schema}", (engine, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=50_000)
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1/test")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        results["sqlite"] = backend(f"sqlite:///{scratch}/ledger.db", args)
    pg = postgres(args.pg)
    if pg is None:
        results["postgresql"] = "skipped: not reachable"
    else:
        url, (engine, schema) = pg
        try:
            results["postgresql"] = backend(url, args)
        finally:
            with engine.begin() as db:
                db.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    sys.stdout.write(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
