"""The ledger's tables as SQLAlchemy Core sees them now (the migrations build them).

Money is exact: a ``Decimal`` in Python; ``NUMERIC(20, 12)`` on PostgreSQL (to a pico-dollar,
up to 10^8 USD a row); decimal text on SQLite, whose NUMERIC would round it through a float.
Reports sum SQLite's text exactly by turning each row into integer pico-dollars in SQL (see
``ledger.report``). An unknown cost is NULL, never zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_SCALE = 12


class Money(TypeDecorator[Decimal]):
    """USD as exact ``Decimal``: NUMERIC(20, 12) on PostgreSQL, decimal text on SQLite."""

    impl = Numeric(20, MONEY_SCALE, asdecimal=True)  # its operators: sums, differences
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(20, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def transactions_v1(metadata: MetaData) -> Table:
    """The transactions table as migration 1 creates it: frozen, never edit. A later migration
    that changes the table adds its own definition, and ``transactions`` below follows it."""
    return Table(
        "transactions",
        metadata,
        Column("request_id", Text, primary_key=True),
        Column("created", Float(53), nullable=False),  # Unix time the request arrived
        Column("endpoint", Text, nullable=False),
        Column("route", Text, nullable=False),
        Column("router", Text, nullable=False),
        Column("requested", Text, nullable=False),
        Column("model", Text),
        Column("status", Integer, nullable=False),
        Column("latency_ms", Float(53), nullable=False),
        Column("stream", Boolean(create_constraint=False), nullable=False),
        Column("input_tokens", Integer),
        Column("output_tokens", Integer),
        Column("cost_usd", Money),
        Column("baseline_model", Text),
        Column("baseline_cost_usd", Money),
        Column("candidates", Text, nullable=False),  # JSON
        Column("fallbacks", Text, nullable=False),  # JSON
        Column("error", Text),
        Column("tenant", Text),
        Column("key_id", Text),
        Column("extra", Text, nullable=False),  # JSON
    )


def transactions_v3(metadata: MetaData) -> Table:
    """Migration 3's transactions: migration 1's and ``day``, the UTC day of ``created`` as
    whole days since 1970-01-01 (what reports group by). Frozen, never edit."""
    table = transactions_v1(metadata)
    table.append_column(Column("day", Integer))
    return table


def transactions_v5(metadata: MetaData) -> Table:
    """Migration 5's transactions: migration 3's and the policy decision (data class, action,
    rules hit as a JSON list, detections as JSON kind -> count, injection score, flagged); all
    NULL for a request served without policies. Frozen, never edit."""
    table = transactions_v3(metadata)
    table.append_column(Column("data_class", Text))
    table.append_column(Column("policy_action", Text))
    table.append_column(Column("policy_rules", Text))  # JSON
    table.append_column(Column("detections", Text))  # JSON
    table.append_column(Column("injection", Float(53)))
    table.append_column(Column("flagged", Boolean(create_constraint=False)))
    return table


def tenants_v2(metadata: MetaData) -> Table:
    """Tenants as migration 2 creates them: frozen, never edit. A limit left NULL is none."""
    return Table(
        "tenants",
        metadata,
        Column("name", Text, primary_key=True),
        Column("created", Float(53), nullable=False),
        Column("daily_usd", Money),
        Column("monthly_usd", Money),
        Column("rpm", Integer),  # each key's requests per minute, unless the key sets its own
        Column("tpm", Integer),  # each key's tokens per minute, likewise
    )


def api_keys_v2(metadata: MetaData) -> Table:
    """API keys as migration 2 creates them: frozen, never edit. Only the secret's SHA-256
    is kept, and its first characters for people to recognise it."""
    return Table(
        "api_keys",
        metadata,
        Column("id", Text, primary_key=True),
        Column("tenant", Text, ForeignKey("tenants.name"), nullable=False),
        Column("name", Text, nullable=False),
        Column("prefix", Text, nullable=False),
        Column("hash", Text, nullable=False, unique=True),
        Column("created", Float(53), nullable=False),
        Column("revoked", Float(53)),  # Unix time of revocation; NULL while the key is live
        Column("routes", Text, nullable=False),  # JSON list; empty allows every route
        Column("models", Text, nullable=False),  # JSON list; empty allows every model
        Column("daily_usd", Money),
        Column("monthly_usd", Money),
        Column("rpm", Integer),
        Column("tpm", Integer),
    )


def price_snapshots_v4(metadata: MetaData) -> Table:
    """Prices as each gateway start saw them (``slicewise prices diff`` compares the last run
    with the configuration and the table), as migration 4 creates them: frozen, never edit."""
    return Table(
        "price_snapshots",
        metadata,
        Column("run", Text, primary_key=True),  # one id per gateway start
        Column("model", Text, primary_key=True),
        Column("taken", Float(53), nullable=False),  # Unix time of the start
        Column("input_usd_per_mtok", Money),  # NULL: unknown
        Column("output_usd_per_mtok", Money),
        Column("source", Text, nullable=False),  # config, genai-prices or unknown
    )


def shadow_comparisons_v4(metadata: MetaData) -> Table:
    """Drift's shadow calls, as migration 4 creates them: frozen, never edit. Kept apart from
    ``transactions``: their cost is recorded but billed to no tenant, and reports of served
    requests (and their latency indexes) never see them."""
    return Table(
        "shadow_comparisons",
        metadata,
        Column("id", Text, primary_key=True),  # shadow_ + the served request's id
        Column("created", Float(53), nullable=False),
        Column("route", Text, nullable=False),
        Column("served_model", Text, nullable=False),
        Column("reference_model", Text, nullable=False),
        Column("compare", Text, nullable=False),  # exact, json, auto or judge
        Column("agreement", Float(53)),  # in [0, 1]; NULL when the call or the judge failed
        Column("status", Integer, nullable=False),
        Column("latency_ms", Float(53), nullable=False),
        Column("input_tokens", Integer),
        Column("output_tokens", Integer),
        Column("cost_usd", Money),  # the reference call's and the judge's; NULL: unknown
        Column("error", Text),
    )


metadata = MetaData()
transactions = transactions_v5(metadata)
price_snapshots = price_snapshots_v4(metadata)
shadow_comparisons = shadow_comparisons_v4(metadata)
tenants = tenants_v2(metadata)
api_keys = api_keys_v2(metadata)
migrations = Table(
    "ledger_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied", Float(53), nullable=False),
)
