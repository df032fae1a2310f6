"""Admin views over the ledger: ``GET /admin/report`` (JSON or CSV) and ``GET /dashboard``.

Who may look. With the environment variable ``SLICEWISE_ADMIN_KEY`` set, a request must carry
``Authorization: Bearer <key>`` (or HTTP Basic with the key as password, so a browser can open
the dashboard); anything else gets a 401 in OpenAI's error shape. With it unset, only loopback
clients are answered and others get a 403. Behind a reverse proxy on the same host every
client looks like loopback, so set the key there.

``GET /metrics`` sits behind the same guard unless ``server.public_metrics`` is set: give
Prometheus the key as a bearer token (``authorization: {credentials: ...}`` in its scrape
config). Reports cover every tenant; a view restricted to one tenant's records comes with
tenant keys.
"""

from __future__ import annotations

import base64
import binascii
import csv
import dataclasses
import hmac
import io
import ipaddress
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, cast

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from slicewise.errors import RequestError
from slicewise.gateway import dashboard
from slicewise.gateway import errors as error_table
from slicewise.gateway.protocols import OPENAI
from slicewise.ledger import Ledger
from slicewise.ledger.report import GROUPINGS, By, Row, report

ADMIN_KEY_ENV = "SLICEWISE_ADMIN_KEY"  # a config setting naming the variable may replace this
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
FORMATS = ("json", "csv")
Handler = Callable[[Request], Awaitable[Response]]


def routes(ledger: Callable[[], Ledger], env: Mapping[str, str] | None = None) -> list[Route]:
    """The admin routes, reading the ledger that ``ledger()`` returns once the app has started."""
    key = admin_key(env)

    async def report_view(http: Request) -> Response:
        query = _query(http, {"since": "7d", "by": "day", "tenant": None, "format": "json"})
        since, by = _since(query["since"]), _by(query["by"])
        form = _choice("format", query["format"], FORMATS)
        rows = await run_in_threadpool(report, ledger(), since, by, query["tenant"])
        if form == "csv":
            return Response(_csv(rows), media_type="text/csv; charset=utf-8")
        body = {"since": since, "by": by, "tenant": query["tenant"], "rows": _plain(rows)}
        return Response(orjson.dumps(body), media_type="application/json")

    async def dashboard_view(http: Request) -> Response:
        period = _query(http, {"since": "30d"})["since"] or "30d"
        views = await run_in_threadpool(dashboard.gather, ledger(), _since(period))
        return HTMLResponse(dashboard.page(views, period))

    return [
        Route("/admin/report", guarded(report_view, key), methods=["GET"]),
        Route("/dashboard", guarded(dashboard_view, key), methods=["GET"]),
    ]


def admin_key(env: Mapping[str, str] | None = None) -> str | None:
    return (os.environ if env is None else env).get(ADMIN_KEY_ENV) or None


def guarded(view: Handler, key: str | None) -> Handler:
    """``view`` for admins only (see the module's docstring)."""

    async def guarded(http: Request) -> Response:
        refused = _refused(http, key)
        if refused is not None:
            return refused
        try:
            return await view(http)
        except RequestError as exc:
            return _error(exc.status, exc.message, exc.param)

    return guarded


def _refused(http: Request, key: str | None) -> Response | None:
    """None when ``http`` may read the admin views, else the response that refuses it."""
    if key is None:
        if _loopback(http.client.host if http.client else ""):
            return None
        return _error(
            403,
            f"admin views answer only loopback clients while {ADMIN_KEY_ENV} is unset; "
            f"set {ADMIN_KEY_ENV} on the gateway and send Authorization: Bearer <key>",
        )
    given = _credential(http.headers.get("authorization", ""))
    if given is not None and hmac.compare_digest(given.encode(), key.encode()):
        return None
    reason = "is missing" if given is None else "does not match"
    return _error(
        401,
        f"the admin key {reason}; send Authorization: Bearer <the value of {ADMIN_KEY_ENV}>",
        headers={"www-authenticate": 'Basic realm="slicewise admin"'},
    )


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _credential(header: str) -> str | None:
    """The key from ``Bearer <key>``, or the password from ``Basic base64(user:password)``."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def _error(
    status: int, message: str, param: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = OPENAI.error_body(message, error_table.error_type("openai", status), param)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _query(http: Request, defaults: dict[str, str | None]) -> dict[str, str | None]:
    """The query's values over ``defaults``; a parameter not in ``defaults`` is an error."""
    for name in http.query_params:
        if name not in defaults:
            raise RequestError(
                f"unknown query parameter {name!r}; {http.url.path} takes " + ", ".join(defaults),
                param=name,
            )
    return {name: http.query_params.get(name, default) for name, default in defaults.items()}


def _since(value: str | None) -> float | None:
    """``7d`` as the Unix time seven days ago; ``all`` as no limit."""
    if value == "all":
        return None
    found = re.fullmatch(r"(\d{1,6})([mhdw])", value or "")
    if found is None:
        raise RequestError(
            f"since={value!r} is not a period; write a number and a unit (m, h, d, w), "
            "e.g. 30m, 24h, 7d, 4w, or all",
            param="since",
        )
    return time.time() - int(found[1]) * UNITS[found[2]]


def _by(value: str | None) -> By:
    return cast(By, _choice("by", value, GROUPINGS))


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise RequestError(
            f"{name}={value!r} is not allowed; use one of {', '.join(allowed)}", name
        )
    return value


def _plain(rows: list[Row]) -> list[dict[str, Any]]:
    """Rows for JSON; money as decimal strings, so no digit is lost to a float."""
    return [
        {k: str(v) if isinstance(v, Decimal) else v for k, v in dataclasses.asdict(r).items()}
        for r in rows
    ]


def _csv(rows: list[Row]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([f.name for f in dataclasses.fields(Row)])
    writer.writerows(row.values() for row in _plain(rows))
    return text.getvalue()
