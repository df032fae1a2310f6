"""Tenants and API keys over HTTP for admins, and each tenant's own report for its keys.

Behind the admin guard (see ``admin``), JSON in and out::

    POST   /admin/tenants             {name, daily_usd, monthly_usd, rpm, tpm}
    GET    /admin/tenants
    PATCH  /admin/tenants/{name}      any of the limits; null removes one
    POST   /admin/keys                {tenant, name, routes, models, limits}; the secret, once
    GET    /admin/keys[?tenant=]      never a secret or its hash; the display prefix only
    PATCH  /admin/keys/{key_id}       any of routes, models and the limits
    DELETE /admin/keys/{key_id}       revokes it

``GET /v1/report`` takes a tenant's own key instead (``Authorization: Bearer sk-sw-...``) and
answers ``/admin/report``'s body for that tenant's transactions only; no parameter widens it.

A revoked key stops working on every instance within ``auth.revocation_seconds``, as with
``slicewise keys revoke``; a changed limit takes effect within ``auth.cache_seconds`` (key
lookups are cached per gateway process; see ``tenancy.auth``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, update
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slicewise.errors import ConfigError, RequestError
from slicewise.gateway import admin
from slicewise.ledger.report import report
from slicewise.ledger.schema import api_keys
from slicewise.tenancy.auth import Authenticator
from slicewise.tenancy.keys import (
    ApiKey,
    Limits,
    Tenant,
    create_key,
    list_keys,
    list_tenants,
    revoke,
    set_tenant,
)

if TYPE_CHECKING:
    from slicewise.gateway.app import Gateway

JSON = "application/json"
LIMITS = ("daily_usd", "monthly_usd", "rpm", "tpm")
GRANTS = ("routes", "models")
NOT_GIVEN = object()
"""A field absent from a PATCH body, told apart from ``null`` (which removes a limit)."""


def routes(gateway: Callable[[], Gateway], env: Mapping[str, str] | None = None) -> list[Route]:
    """The tenant and key routes, and ``/v1/report``, over the gateway ``gateway()`` returns."""
    key = admin.admin_key(env)
    views = Views(gateway)
    return [
        Route("/admin/tenants", admin.guarded(views.tenants, key), methods=["GET", "POST"]),
        Route("/admin/tenants/{name}", admin.guarded(views.tenant, key), methods=["PATCH"]),
        Route("/admin/keys", admin.guarded(views.keys, key), methods=["GET", "POST"]),
        Route("/admin/keys/{key_id}", admin.guarded(views.key, key), methods=["PATCH", "DELETE"]),
        Route("/v1/report", views.own_report, methods=["GET"]),
    ]


class Views:
    """The endpoints' handlers, over the gateway that ``gateway()`` returns once started."""

    def __init__(self, gateway: Callable[[], Gateway]):
        self.gateway = gateway
        self._reader: Authenticator | None = None  # made at first use when auth is off

    def engine(self) -> Engine:
        return self.gateway().recorder.ledger.engine

    async def tenants(self, http: Request) -> Response:
        if http.method == "GET":
            found = await run_in_threadpool(list_tenants, self.engine())
            return _json({"object": "list", "data": [_tenant(t) for t in found]})
        body = await _body(http, {"name", *LIMITS})
        name = _name(body, "name")
        limits = _limits(body, Limits())
        made = await run_in_threadpool(_new_tenant, self.engine(), name, limits)
        return _json(_tenant(made), 201)

    async def tenant(self, http: Request) -> Response:
        name = http.path_params["name"]
        body = await _body(http, set(LIMITS))
        changed = await run_in_threadpool(_change_tenant, self.engine(), name, body)
        return _json(_tenant(changed))

    async def keys(self, http: Request) -> Response:
        if http.method == "GET":
            tenant = admin._query(http, {"tenant": None})["tenant"]
            found = await run_in_threadpool(list_keys, self.engine(), tenant)
            return _json({"object": "list", "data": [_key(k) for k in found]})
        body = await _body(http, {"tenant", "name", *GRANTS, *LIMITS})
        grants, limits = _grants(body, self.gateway()), _limits(body, Limits())
        tenant, label = _name(body, "tenant"), _text(body, "name")
        routes_, models = grants.get("routes", ()), grants.get("models", ())
        made, secret = await run_in_threadpool(
            lambda: create_key(self.engine(), tenant, label, routes_, models, limits)
        )
        return _json({**_key(made), "secret": secret}, 201)

    async def key(self, http: Request) -> Response:
        key_id = http.path_params["key_id"]
        if http.method == "DELETE":
            return _json(_key(await run_in_threadpool(_revoke, self.engine(), key_id)))
        body = await _body(http, {*GRANTS, *LIMITS})
        grants = _grants(body, self.gateway())
        changed = await run_in_threadpool(_change_key, self.engine(), key_id, grants, body)
        return _json(_key(changed))

    async def own_report(self, http: Request) -> Response:
        gw = self.gateway()
        try:
            tenant = (await self._authenticator(gw).identify(http.headers)).tenant.name
        except RequestError as exc:
            return admin._error(exc.status, exc.message, exc.param)
        return await _report(http, gw, tenant)

    def _authenticator(self, gw: Gateway) -> Authenticator:
        if gw.guard is not None:  # shares the chat endpoints' cache of key lookups
            return gw.guard.authenticator
        if self._reader is None:
            self._reader = Authenticator(self.engine(), gw.config.auth.cache_seconds)
        return self._reader


async def _report(http: Request, gw: Gateway, tenant: str) -> Response:
    """``/admin/report``'s answer for one tenant; its query cannot name another."""
    try:
        query = admin._query(http, {"since": "7d", "by": "day", "format": "json"})
        since, by = admin._since(query["since"]), admin._by(query["by"])
        form = admin._choice("format", query["format"], admin.FORMATS)
    except RequestError as exc:
        return admin._error(exc.status, exc.message, exc.param)
    rows = await run_in_threadpool(report, gw.recorder.ledger, since, by, tenant)
    if form == "csv":
        return Response(admin._csv(rows), media_type="text/csv; charset=utf-8")
    return _json({"since": since, "by": by, "tenant": tenant, "rows": admin._plain(rows)})


def _new_tenant(engine: Engine, name: str, limits: Limits) -> Tenant:
    # two concurrent POSTs of one name may both pass this check; the second then sets the limits
    if any(t.name == name for t in list_tenants(engine)):
        raise RequestError(
            f"tenant {name!r} exists; change its limits with PATCH /admin/tenants/{name}",
            param="name",
            status=409,
        )
    return set_tenant(engine, name, limits)


def _change_tenant(engine: Engine, name: str, body: dict[str, Any]) -> Tenant:
    found = next((t for t in list_tenants(engine) if t.name == name), None)
    if found is None:
        raise RequestError(f"no tenant {name!r}; GET /admin/tenants lists them", status=404)
    return set_tenant(engine, name, _limits(body, found.limits))


def _revoke(engine: Engine, key_id: str) -> ApiKey:
    found = _find_key(engine, key_id)
    if found.revoked is not None:
        raise RequestError(f"key {key_id} was already revoked", status=409)
    try:
        return revoke(engine, key_id)
    except ConfigError as exc:  # revoked by someone else since the look above
        raise RequestError(str(exc), status=409) from None


def _change_key(
    engine: Engine, key_id: str, grants: dict[str, tuple[str, ...]], body: dict[str, Any]
) -> ApiKey:
    # an update_key beside revoke in tenancy/keys.py would let `slicewise keys` share this
    found = _find_key(engine, key_id)
    limits = dataclasses.asdict(_limits(body, found.limits))
    values = {**limits, **{k: orjson.dumps(list(v)).decode() for k, v in grants.items()}}
    with engine.begin() as db:
        db.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
    return _find_key(engine, key_id)


def _find_key(engine: Engine, key_id: str) -> ApiKey:
    found = next((k for k in list_keys(engine) if k.id == key_id), None)
    if found is None:
        raise RequestError(f"no key {key_id!r}; GET /admin/keys lists them", status=404)
    return found


async def _body(http: Request, allowed: set[str]) -> dict[str, Any]:
    try:
        body = orjson.loads(await http.body())
    except orjson.JSONDecodeError:
        raise RequestError("the body is not JSON; send a JSON object") from None
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    for name in body:
        if name not in allowed:
            raise RequestError(
                f"unknown field {name!r}; {http.method} {http.url.path} takes "
                + ", ".join(sorted(allowed)),
                param=name,
            )
    return body


def _name(body: dict[str, Any], field: str) -> str:
    value = _text(body, field)
    if not value:
        raise RequestError(f"{field} is required: a non-empty string", param=field)
    return value


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field, "")
    if not isinstance(value, str):
        raise RequestError(f"{field} must be a string", param=field)
    return value


def _limits(body: dict[str, Any], before: Limits) -> Limits:
    """``before`` with the limits ``body`` gives; ``null`` removes one, absence keeps it."""
    changed: dict[str, Any] = {}
    for field in LIMITS:
        value = body.get(field, NOT_GIVEN)
        if value is NOT_GIVEN or value is None:
            changed[field] = None if value is None else getattr(before, field)
        elif field.endswith("_usd"):
            changed[field] = _usd(field, value)
        else:
            changed[field] = _count(field, value)
    return Limits(**changed)


def _usd(field: str, value: Any) -> Decimal:
    try:
        found = Decimal(str(value)) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        found = None
    if isinstance(value, bool) or found is None or not found.is_finite() or found < 0:
        raise RequestError(
            f"{field}={value!r} is not an amount in USD; give 0 or more, e.g. 25.50, or null "
            "for no limit",
            param=field,
        )
    return found


def _count(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RequestError(
            f"{field}={value!r} is not a count; give a whole number of 0 or more, or null "
            "for no limit",
            param=field,
        )
    return value


def _grants(body: dict[str, Any], gw: Gateway) -> dict[str, tuple[str, ...]]:
    """The route and model lists ``body`` gives, each checked against the catalog."""
    known: dict[str, Collection[str]] = {"routes": gw.catalog.routes, "models": gw.catalog.models}
    found: dict[str, tuple[str, ...]] = {}
    for field in GRANTS:
        if field not in body:
            continue
        names = body[field]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RequestError(f"{field} must be a list of names", param=field)
        for name in names:
            if name not in known[field]:
                raise RequestError(
                    f"{field} names {name!r}, which this gateway does not serve; it serves "
                    + ", ".join(known[field]),
                    param=field,
                )
        found[field] = tuple(names)
    return found


def _tenant(tenant: Tenant) -> dict[str, Any]:
    return {"object": "tenant", "name": tenant.name, "created": tenant.created} | _plain(
        tenant.limits
    )


def _key(key: ApiKey) -> dict[str, Any]:
    return {
        "object": "api_key",
        "id": key.id,
        "tenant": key.tenant,
        "name": key.name,
        "prefix": key.prefix,
        "created": key.created,
        "revoked": key.revoked,
        "routes": list(key.routes),
        "models": list(key.models),
    } | _plain(key.limits)


def _plain(limits: Limits) -> dict[str, Any]:
    """Limits for JSON; money as decimal strings, so no digit is lost to a float."""
    found = dataclasses.asdict(limits)
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in found.items()}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)
