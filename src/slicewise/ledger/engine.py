"""Opening the ledger's database from its URL: SQLite (WAL) by default, PostgreSQL by URL.

``sqlite:///PATH`` gets WAL with ``synchronous=NORMAL`` (a commit survives a process crash; a
power cut may lose the last few commits) and explicit ``BEGIN`` so SQLAlchemy's transactions
are SQLite's. ``postgresql://`` URLs use the psycopg 3 driver; any libpq option passes through
the query string, e.g. ``?options=-csearch_path%3Dledger`` to keep the tables in one schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from slicewise.errors import ConfigError

SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgres://", "postgresql+psycopg://")
IMMEDIATE = "sqlite_immediate"
"""Execution option: begin SQLite transactions with ``BEGIN IMMEDIATE`` (the write lock)."""


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL; ``None`` for any other database."""
    return Path(url.removeprefix(SQLITE)) if url.startswith(SQLITE) else None


def open_engine(url: str, create: bool = True) -> Engine:
    """An engine for a ledger URL; a clear error for anything else. With ``create`` false (a
    command that only reads), a SQLite file that is not there is an error, not a new ledger."""
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.is_file():
            raise ConfigError(
                f"no ledger at {path} (from {Path.cwd()}): a gateway creates it when it first "
                "starts; check --ledger, or ledger.url in the configuration"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        return _sqlite(path)
    if url.startswith(POSTGRES):
        return _postgres(url)
    raise ConfigError(
        f"ledger.url {_redacted(url)!r}: use sqlite:///PATH or postgresql://USER@HOST/DATABASE"
    )


def _sqlite(path: Path) -> Engine:
    engine = create_engine(f"{SQLITE}{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connected(dbapi: Any, record: Any) -> None:
        dbapi.isolation_level = None  # SQLAlchemy's "begin" below opens each transaction
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
            dbapi.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres(url: str) -> Engine:
    _, _, rest = url.partition("://")
    try:
        parsed = make_url(f"postgresql+psycopg://{rest}")
    except ArgumentError as exc:
        raise ConfigError(f"ledger.url {_redacted(url)!r} is not a valid URL: {exc}") from None
    return create_engine(parsed, pool_pre_ping=True)


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]
