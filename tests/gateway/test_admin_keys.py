"""Tenants and keys over ``/admin/...``, and each tenant's own ``GET /v1/report``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from slicewise.config.load import validate
from slicewise.gateway.admin import ADMIN_KEY_ENV
from tests.fakes.upstream import FakeUpstream
from tests.gateway import conftest
from tests.gateway.server import GatewayServer

HI = [{"role": "user", "content": "hi there"}]
ADMIN = "admin-test-key-0123456789"
AS_ADMIN = {"authorization": f"Bearer {ADMIN}"}
AUTH = {"required": True, "cache_seconds": 0}


@pytest.fixture
def admin_gateway(
    fake_upstream: FakeUpstream, tmp_path: Path
) -> Iterator[Callable[..., GatewayServer]]:
    """Like ``gateway``, with ``SLICEWISE_ADMIN_KEY`` set and keys required."""
    servers: list[GatewayServer] = []

    def start(**changes: Any) -> GatewayServer:
        raw = conftest.test_config(fake_upstream, tmp_path / "ledger.db", auth=AUTH, **changes)
        env = {"TEST_KEY": conftest.KEY, ADMIN_KEY_ENV: ADMIN}
        servers.append(GatewayServer(validate(raw, {}, "test"), env).__enter__())
        return servers[-1]

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def call(server: GatewayServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", AS_ADMIN)
    return httpx.request(method, server.url + path, headers=headers, timeout=20, **kwargs)


def new_key(server: GatewayServer, tenant: str, **grant: Any) -> dict[str, Any]:
    reply = call(server, "POST", "/admin/keys", json={"tenant": tenant, **grant})
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def chat(server: GatewayServer, secret: str, model: str = "auto") -> Any:
    sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=secret, max_retries=0)
    return sdk.chat.completions.create(model=model, messages=HI)  # type: ignore[arg-type]


def test_tenants_are_made_listed_and_their_limits_changed(admin_gateway) -> None:
    server = admin_gateway()
    made = call(server, "POST", "/admin/tenants", json={"name": "acme", "daily_usd": 50.5})
    assert made.status_code == 201
    assert made.json()["daily_usd"] == "50.5" and made.json()["rpm"] is None
    again = call(server, "POST", "/admin/tenants", json={"name": "acme"})
    assert again.status_code == 409 and "PATCH" in again.json()["error"]["message"]

    changed = call(server, "PATCH", "/admin/tenants/acme", json={"rpm": 600, "monthly_usd": "1000"})
    assert changed.status_code == 200
    assert changed.json()["daily_usd"] == "50.5"  # absent: kept
    assert (changed.json()["rpm"], changed.json()["monthly_usd"]) == (600, "1000")
    cleared = call(server, "PATCH", "/admin/tenants/acme", json={"daily_usd": None})
    assert cleared.json()["daily_usd"] is None and cleared.json()["rpm"] == 600

    listed = call(server, "GET", "/admin/tenants").json()["data"]
    assert [t["name"] for t in listed] == ["acme"]
    assert call(server, "PATCH", "/admin/tenants/nobody", json={}).status_code == 404


def test_a_key_is_shown_once_granted_changed_and_revoked(admin_gateway) -> None:
    server = admin_gateway()
    made = new_key(server, "acme", name="ci", routes=["auto"])
    secret = made["secret"]
    assert secret.startswith("sk-sw-") and secret.startswith(made["prefix"])
    new_key(server, "globex")
    assert chat(server, secret).choices[0].message.content == "hi there"

    listed = call(server, "GET", "/admin/keys")
    assert secret not in listed.text and "hash" not in listed.text
    assert {k["tenant"] for k in listed.json()["data"]} == {"acme", "globex"}
    (mine,) = call(server, "GET", "/admin/keys?tenant=acme").json()["data"]
    assert (mine["id"], mine["name"], mine["routes"]) == (made["id"], "ci", ["auto"])

    path = f"/admin/keys/{made['id']}"
    changed = call(server, "PATCH", path, json={"routes": [], "models": ["openai/gpt-4o-mini"]})
    assert changed.status_code == 200 and changed.json()["models"] == ["openai/gpt-4o-mini"]
    chat(server, secret, "openai/gpt-4o-mini")
    with pytest.raises(openai.PermissionDeniedError):
        chat(server, secret, "auto")

    assert call(server, "DELETE", path).json()["revoked"] is not None
    with pytest.raises(openai.AuthenticationError):
        chat(server, secret, "openai/gpt-4o-mini")
    assert call(server, "DELETE", path).status_code == 409
    assert call(server, "DELETE", "/admin/keys/key_nope").status_code == 404
    assert call(server, "PATCH", "/admin/keys/key_nope", json={}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/admin/tenants", {"name": "a", "colour": "red"}, "colour"),
        ("POST", "/admin/tenants", {"daily_usd": 5}, "name"),
        ("POST", "/admin/tenants", {"name": "a", "daily_usd": -1}, "daily_usd"),
        ("POST", "/admin/tenants", {"name": "a", "monthly_usd": "lots"}, "monthly_usd"),
        ("POST", "/admin/tenants", {"name": "a", "rpm": 1.5}, "rpm"),
        ("POST", "/admin/tenants", {"name": "a", "tpm": True}, "tpm"),
        ("POST", "/admin/keys", {"tenant": "a", "models": ["openai/gpt-5"]}, "models"),
        ("POST", "/admin/keys", {"tenant": "a", "routes": "auto"}, "routes"),
        ("POST", "/admin/keys", {"name": "ci"}, "tenant"),
        ("PATCH", "/admin/tenants/a", {"secret": "x"}, "secret"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    admin_gateway, method: str, path: str, body: Any, param: str
) -> None:
    server = admin_gateway()
    reply = call(server, method, path, json=body)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert call(server, "GET", "/admin/keys?who=me").json()["error"]["param"] == "who"
    not_json = call(server, "POST", "/admin/keys", content=b"{nope")
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]["message"]


def test_every_admin_endpoint_needs_the_admin_key(admin_gateway) -> None:
    server = admin_gateway()
    secret = new_key(server, "acme")["secret"]
    for method, path in [
        ("GET", "/admin/tenants"),
        ("POST", "/admin/tenants"),
        ("PATCH", "/admin/tenants/acme"),
        ("GET", "/admin/keys"),
        ("POST", "/admin/keys"),
        ("PATCH", "/admin/keys/key_x"),
        ("DELETE", "/admin/keys/key_x"),
    ]:
        for headers in ({}, {"authorization": f"Bearer {secret}"}):  # a tenant key is no admin
            reply = call(server, method, path, headers=headers, json={"name": "evil"})
            assert reply.status_code == 401, (method, path)
            assert reply.json()["error"]["type"] == "authentication_error"
    assert [t["name"] for t in call(server, "GET", "/admin/tenants").json()["data"]] == ["acme"]


def test_a_tenant_key_reads_only_its_own_report(admin_gateway) -> None:
    server = admin_gateway()
    acme, globex = new_key(server, "acme"), new_key(server, "globex")
    for secret in (acme["secret"], acme["secret"], globex["secret"]):
        chat(server, secret)

    def own(key: dict[str, Any], query: str) -> httpx.Response:
        headers = {"authorization": f"Bearer {key['secret']}"}
        return call(server, "GET", "/v1/report?" + query, headers=headers)

    mine = own(acme, "since=7d&by=tenant").json()
    assert mine["tenant"] == "acme"
    assert [(r["group"], r["requests"]) for r in mine["rows"]] == [("acme", 2)]
    by_key = own(globex, "by=key").json()["rows"]
    assert [(r["group"], r["requests"]) for r in by_key] == [(globex["id"], 1)]

    widened = own(acme, "by=tenant&tenant=globex")
    assert widened.status_code == 400 and widened.json()["error"]["param"] == "tenant"
    assert own(acme, "by=colour").json()["error"]["param"] == "by"
    assert call(server, "GET", "/v1/report", headers={}).status_code == 401
    assert call(server, "GET", "/v1/report").status_code == 401  # the admin key is not a tenant's
    call(server, "DELETE", f"/admin/keys/{acme['id']}")
    assert own(acme, "by=tenant").status_code == 401
