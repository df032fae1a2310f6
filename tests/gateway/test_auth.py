"""API keys at the gateway: 401 without a live key, 403 outside its grant, tenant in the ledger."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx2 as httpx
import openai
import pytest

from slicewise.ledger.engine import open_engine
from slicewise.ledger.migrations import migrate
from slicewise.ledger.report import report
from slicewise.tenancy.keys import create_key, revoke
from tests.gateway.server import GatewayServer

HI = [{"role": "user", "content": "hi there"}]
AUTH = {"required": True, "cache_seconds": 0}


@pytest.fixture
def make_key(tmp_path: Path) -> Callable[..., tuple[str, str]]:
    """Makes a key in the ledger the ``gateway`` fixture opens; returns (key id, secret)."""
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)

    def make(tenant: str = "acme", **grant: Any) -> tuple[str, str]:
        key, secret = create_key(engine, tenant, **grant)
        return key.id, secret

    make.engine = engine  # type: ignore[attr-defined]
    yield make  # type: ignore[misc]
    engine.dispose()


def client(server: GatewayServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def test_without_a_key_openai_sdk_gets_authentication_error(gateway) -> None:
    server = gateway(auth=AUTH)
    with pytest.raises(openai.AuthenticationError) as caught:
        client(server, "sk-sw-not-a-key").chat.completions.create(model="auto", messages=HI)
    assert "not valid or was revoked" in caught.value.message
    assert "sk-sw-not-a-key" not in caught.value.message  # never echo a secret
    missing = httpx.post(server.url + "/v1/chat/completions", json={"model": "auto"})
    assert missing.status_code == 401
    error = missing.json()["error"]
    assert error["type"] == "authentication_error" and "Authorization: Bearer" in error["message"]


def test_a_live_key_is_served_and_its_tenant_recorded(gateway, make_key) -> None:
    key_id, secret = make_key("acme")
    server = gateway(auth=AUTH)
    reply = client(server, secret).chat.completions.create(model="auto", messages=HI)
    assert reply.choices[0].message.content == "hi there"
    row = server.gateway.recorder.ledger.transactions(1)[0]
    assert row["tenant"] == "acme" and row["key_id"] == key_id


def test_anthropic_sdk_sends_x_api_key(gateway, make_key) -> None:
    _, secret = make_key()
    server = gateway(auth=AUTH)
    with anthropic.Anthropic(base_url=server.url, api_key=secret, max_retries=0) as ant:
        message = ant.messages.create(model="auto", max_tokens=64, messages=HI)
        assert message.content[0].text == "hi there"  # type: ignore[union-attr]
    with (
        anthropic.Anthropic(base_url=server.url, api_key="wrong", max_retries=0) as ant,
        pytest.raises(anthropic.AuthenticationError),
    ):
        ant.messages.create(model="auto", max_tokens=64, messages=HI)


def test_a_revoked_key_is_refused(gateway, make_key) -> None:
    key_id, secret = make_key()
    server = gateway(auth=AUTH)
    sdk = client(server, secret)
    sdk.chat.completions.create(model="auto", messages=HI)
    revoke(make_key.engine, key_id)
    with pytest.raises(openai.AuthenticationError):
        sdk.chat.completions.create(model="auto", messages=HI)


def test_a_revocation_reaches_a_gateway_before_its_cache_expires(gateway, make_key) -> None:
    key_id, secret = make_key()
    server = gateway(auth={"required": True, "cache_seconds": 600, "revocation_seconds": 0.1})
    sdk = client(server, secret)
    sdk.chat.completions.create(model="auto", messages=HI)  # cached for ten minutes
    revoke(make_key.engine, key_id)  # as another instance, or `slicewise keys revoke`, would
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            sdk.chat.completions.create(model="auto", messages=HI)
        except openai.AuthenticationError:
            return
        time.sleep(0.05)
    pytest.fail("the revoked key was still served 10 s later")


def test_routes_and_models_outside_the_grant_are_forbidden(gateway, make_key) -> None:
    _, by_route = make_key(routes=("auto",))
    _, by_model = make_key(models=("openai/gpt-4o-mini",))
    server = gateway(auth=AUTH)
    client(server, by_route).chat.completions.create(model="auto", messages=HI)
    client(server, by_model).chat.completions.create(model="openai/gpt-4o-mini", messages=HI)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client(server, by_model).chat.completions.create(model="openai/gpt-4o", messages=HI)
    assert "'openai/gpt-4o'" in caught.value.message and "gpt-4o-mini" in caught.value.message
    with pytest.raises(openai.PermissionDeniedError):
        client(server, by_model).chat.completions.create(model="auto", messages=HI)


def test_dry_run_needs_a_key_too(gateway, make_key) -> None:
    _, secret = make_key()
    server = gateway(auth=AUTH)
    url, body = server.url + "/v1/route", {"model": "auto", "messages": HI}
    assert httpx.post(url, json=body).status_code == 401
    headers = {"authorization": f"Bearer {secret}"}
    assert httpx.post(url, json=body, headers=headers).status_code == 200


def test_open_by_default(gateway) -> None:
    server = gateway()
    reply = client(server, "anything").chat.completions.create(model="auto", messages=HI)
    assert reply.choices[0].message.content == "hi there"


def test_a_tenant_reads_only_its_own_rows(gateway, make_key) -> None:
    _, acme = make_key("acme")
    _, globex = make_key("globex")
    server = gateway(auth=AUTH)
    for secret in (acme, acme, globex):
        client(server, secret).chat.completions.create(model="auto", messages=HI)
    ledger = server.gateway.recorder.ledger
    (mine,) = report(ledger, by="tenant", tenant="acme")
    (theirs,) = report(ledger, by="tenant", tenant="globex")
    assert (mine.group, mine.requests) == ("acme", 2)
    assert (theirs.group, theirs.requests) == ("globex", 1)
