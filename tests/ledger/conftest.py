from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

PG_HOST = os.environ.get("SLICEWISE_TEST_PG", "127.0.0.1:5432")


def _admin_url() -> str | None:
    """A reachable PostgreSQL test database, trying the users this machine has."""
    for user in ("postgres", "root"):
        url = f"postgresql+psycopg://{user}@{PG_HOST}/test"
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        try:
            with engine.connect():
                return url
        except OperationalError:
            continue
        finally:
            engine.dispose()
    return None


@pytest.fixture(scope="session")
def pg_admin() -> str:
    url = _admin_url()
    if url is None:
        pytest.skip(f"PostgreSQL is not reachable at {PG_HOST} (database test); .ci/run starts it")
    return url


@pytest.fixture
def pg_url(pg_admin: str) -> Iterator[str]:
    """A ledger URL in a fresh schema of its own, dropped afterwards."""
    schema = f"ledger_test_{os.getpid()}_{os.urandom(4).hex()}"
    engine = create_engine(pg_admin)
    with engine.begin() as db:
        db.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield pg_admin.replace("+psycopg", "") + f"?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as db:
            db.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    url: str = request.getfixturevalue("pg_url")
    return url
