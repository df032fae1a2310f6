"""Tenants and their API keys in the ledger's database.

A key's secret is ``sk-sw-`` and 43 random URL-safe characters (256 bits). Only its SHA-256 is
stored: the secret is random, not chosen by a person, so a fast unsalted hash is as strong as a
slow one and lets the gateway look a key up by its hash in one indexed read. The secret is
returned once, by ``create_key``; slicewise never stores, logs or shows it again. Its first
characters (``prefix``) are kept so people can tell their keys apart.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, select, update

from slicewise.errors import ConfigError
from slicewise.ledger.schema import api_keys, tenants

SECRET_PREFIX = "sk-sw-"
SHOWN = 10
"""Characters of the secret kept for display: ``sk-sw-`` and four random ones."""


@dataclass(frozen=True)
class Limits:
    """Spend in USD per UTC day and month, and requests and tokens per minute; ``None`` is
    no limit."""

    daily_usd: Decimal | None = None
    monthly_usd: Decimal | None = None
    rpm: int | None = None
    tpm: int | None = None


@dataclass(frozen=True)
class Tenant:
    name: str
    created: float
    limits: Limits


@dataclass(frozen=True)
class ApiKey:
    id: str
    tenant: str
    name: str
    prefix: str
    created: float
    revoked: float | None
    routes: tuple[str, ...]
    """Routes the key may use; empty allows every route."""
    models: tuple[str, ...]
    """Models (``provider/model``) the key may name; empty allows every model."""
    limits: Limits


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def set_tenant(engine: Engine, name: str, limits: Limits | None = None) -> Tenant:
    """Create tenant ``name`` or, when ``limits`` is given, replace its limits."""
    with engine.begin() as db:
        found = db.execute(select(tenants).where(tenants.c.name == name)).first()
        if found is None:
            db.execute(insert(tenants).values(name=name, created=time.time(), **_plain(limits)))
        elif limits is not None:
            db.execute(update(tenants).where(tenants.c.name == name).values(**_plain(limits)))
        row = db.execute(select(tenants).where(tenants.c.name == name)).one()
    return _tenant(row._mapping)


def create_key(
    engine: Engine,
    tenant: str,
    name: str = "",
    routes: tuple[str, ...] = (),
    models: tuple[str, ...] = (),
    limits: Limits | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``tenant`` (created if new) and its secret, which only this call returns."""
    set_tenant(engine, tenant)
    secret = new_secret()
    values = {
        "id": "key_" + secrets.token_hex(6),
        "tenant": tenant,
        "name": name,
        "prefix": secret[:SHOWN],
        "hash": digest(secret),
        "created": time.time(),
        "revoked": None,
        "routes": orjson.dumps(list(routes)).decode(),
        "models": orjson.dumps(list(models)).decode(),
        **_plain(limits),
    }
    with engine.begin() as db:
        db.execute(insert(api_keys).values(**values))
    return _key(values), secret


def list_keys(engine: Engine, tenant: str | None = None) -> list[ApiKey]:
    query = select(api_keys).order_by(api_keys.c.tenant, api_keys.c.created)
    if tenant is not None:
        query = query.where(api_keys.c.tenant == tenant)
    with engine.connect() as db:
        return [_key(row._mapping) for row in db.execute(query)]


def list_tenants(engine: Engine) -> list[Tenant]:
    with engine.connect() as db:
        return [_tenant(row._mapping) for row in db.execute(select(tenants).order_by("name"))]


def revoke(engine: Engine, key_id: str) -> ApiKey:
    with engine.begin() as db:
        done = db.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
            .values(revoked=time.time())
        )
        row = db.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise ConfigError(f"no key {key_id!r}; `slicewise keys list` shows the keys")
    if done.rowcount == 0:
        raise ConfigError(f"key {key_id} was already revoked")
    return _key(row._mapping)


def newest_revocation(engine: Engine) -> float | None:
    """When the most recent revocation happened (None if none has): a cheap change marker."""
    with engine.connect() as db:
        found: float | None = db.scalar(select(func.max(api_keys.c.revoked)))
    return found


def lookup(engine: Engine, secret: str) -> tuple[ApiKey, Tenant] | None:
    """The live key whose secret this is, with its tenant; ``None`` if unknown or revoked."""
    query = (
        select(api_keys, *[c.label(f"tenant_{c.name}") for c in tenants.c])
        .join(tenants, tenants.c.name == api_keys.c.tenant)
        .where(api_keys.c.hash == digest(secret), api_keys.c.revoked.is_(None))
    )
    with engine.connect() as db:
        row = db.execute(query).first()
    if row is None:
        return None
    found = row._mapping
    owner = {c.name: found[f"tenant_{c.name}"] for c in tenants.c}
    return _key(found), _tenant(owner)


def _plain(limits: Limits | None) -> dict[str, Any]:
    limits = limits or Limits()
    return {
        "daily_usd": limits.daily_usd,
        "monthly_usd": limits.monthly_usd,
        "rpm": limits.rpm,
        "tpm": limits.tpm,
    }


def _limits(row: Any) -> Limits:
    return Limits(row["daily_usd"], row["monthly_usd"], row["rpm"], row["tpm"])


def _tenant(row: Any) -> Tenant:
    return Tenant(row["name"], row["created"], _limits(row))


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"],
        tenant=row["tenant"],
        name=row["name"],
        prefix=row["prefix"],
        created=row["created"],
        revoked=row["revoked"],
        routes=tuple(orjson.loads(row["routes"])),
        models=tuple(orjson.loads(row["models"])),
        limits=_limits(row),
    )
