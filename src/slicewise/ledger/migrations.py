"""Numbered, append-only schema migrations. Never edit one that has shipped; add the next.

Applied versions are rows of ``ledger_migrations``. All pending steps run in one transaction
under a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so gateway
workers starting together migrate once. A SQLite ledger from before this table (its
``PRAGMA user_version`` was 1) already has migration 1's table, which is then only recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, Index, MetaData, insert, select, text

from slicewise.ledger.engine import IMMEDIATE
from slicewise.ledger.schema import (
    api_keys_v2,
    migrations,
    price_snapshots_v4,
    shadow_comparisons_v4,
    tenants_v2,
    transactions_v1,
    transactions_v3,
)

LOCK_KEY = 0x51_1CE_1ED
"""PostgreSQL advisory lock held while migrating."""


def _v1_transactions(db: Connection) -> None:
    table = transactions_v1(MetaData())
    table.create(db, checkfirst=True)
    Index("transactions_created", table.c.created).create(db, checkfirst=True)
    Index("transactions_tenant_created", table.c.tenant, table.c.created).create(
        db, checkfirst=True
    )


def _v2_tenants_and_keys(db: Connection) -> None:
    metadata = MetaData()
    tenants_v2(metadata).create(db, checkfirst=True)
    api_keys_v2(metadata).create(db, checkfirst=True)
    table = transactions_v1(MetaData())  # a key's spend in a period is read at start
    Index("transactions_key_created", table.c.key_id, table.c.created).create(db, checkfirst=True)


PERCENTILE_GROUPS = ("day", "tenant", "key_id", "model", "route")
"""Columns a SQLite report seeks latency ranks in: one covering index each (see ``report``)."""


def _v3_day_and_latency_indexes(db: Connection) -> None:
    """Adds ``day`` (filled here for existing rows, by the writer for new ones) and, on SQLite,
    an index (group, latency_ms, created) per grouping, so percentiles are read at their rank.
    PostgreSQL computes them with ``percentile_cont`` and gets no such index (none to write).
    A gateway still running older code leaves ``day`` NULL; reports by day show those as "-"."""
    db.execute(text("ALTER TABLE transactions ADD COLUMN day INTEGER"))
    whole_days = "CAST(created / 86400 AS INTEGER)"  # SQLite truncates; created is positive
    if db.dialect.name == "postgresql":
        whole_days = "CAST(floor(created / 86400) AS INTEGER)"  # PostgreSQL would round
    db.execute(text(f"UPDATE transactions SET day = {whole_days}"))
    table = transactions_v3(MetaData())
    if db.dialect.name != "sqlite":
        return
    for name in PERCENTILE_GROUPS:
        columns = (table.c[name], table.c.latency_ms, table.c.created)
        Index(f"transactions_{name}_latency", *columns).create(db)


def _v4_price_snapshots_and_shadows(db: Connection) -> None:
    """The prices each gateway start saw, and drift's shadow comparisons."""
    prices = price_snapshots_v4(MetaData())
    prices.create(db, checkfirst=True)
    Index("price_snapshots_taken", prices.c.taken).create(db, checkfirst=True)
    shadows = shadow_comparisons_v4(MetaData())
    shadows.create(db, checkfirst=True)
    Index("shadow_comparisons_route_created", shadows.c.route, shadows.c.created).create(
        db, checkfirst=True
    )


POLICY_COLUMNS = (
    ("data_class", "TEXT"),
    ("policy_action", "TEXT"),
    ("policy_rules", "TEXT"),
    ("detections", "TEXT"),
    ("injection", "DOUBLE PRECISION"),
    ("flagged", "BOOLEAN"),
)


def _v5_policy_decisions(db: Connection) -> None:
    """Adds the policy decision's columns (see ``transactions_v5``); older rows keep NULL."""
    for name, kind in POLICY_COLUMNS:
        db.execute(text(f"ALTER TABLE transactions ADD COLUMN {name} {kind}"))


def _v6_latency_index(db: Connection) -> None:
    """On SQLite, an index (latency_ms, created), so a report over every row (``--by all``)
    reads its percentiles at their rank as the groupings of migration 3 do."""
    if db.dialect.name == "sqlite":
        table = transactions_v3(MetaData())
        Index("transactions_latency", table.c.latency_ms, table.c.created).create(db)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _v1_transactions,
    _v2_tenants_and_keys,
    _v3_day_and_latency_indexes,
    _v4_price_snapshots_and_shadows,
    _v5_policy_decisions,
    _v6_latency_index,
)


def migrate(engine: Engine) -> int:
    """Apply every migration the database lacks; returns the resulting version."""
    with engine.connect().execution_options(**{IMMEDIATE: True}) as db, db.begin():
        if db.dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        migrations.create(db, checkfirst=True)
        applied = set(db.scalars(select(migrations.c.version)))
        for number, step in enumerate(MIGRATIONS, start=1):
            if number not in applied:
                step(db)
                db.execute(insert(migrations).values(version=number, applied=time.time()))
    return len(MIGRATIONS)
