"""Numbered, append-only schema migrations. Never edit one that has shipped; add the next."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: transactions
    """
    CREATE TABLE transactions (
        request_id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        endpoint TEXT NOT NULL,
        route TEXT NOT NULL,
        router TEXT NOT NULL,
        requested TEXT NOT NULL,
        model TEXT,
        status INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        stream INTEGER NOT NULL,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cost_usd TEXT,
        baseline_model TEXT,
        baseline_cost_usd TEXT,
        candidates TEXT NOT NULL,
        fallbacks TEXT NOT NULL,
        error TEXT,
        tenant TEXT,
        key_id TEXT,
        extra TEXT NOT NULL
    );
    CREATE INDEX transactions_created ON transactions (created);
    CREATE INDEX transactions_tenant_created ON transactions (tenant, created);
    """,
)


def migrate(db: sqlite3.Connection) -> int:
    """Apply every migration the database lacks; returns the resulting version."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)
