"""``GET /admin/report``: the ledger's report over HTTP, its guard and its errors."""

from __future__ import annotations

import base64
import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.requests import Request

from slicewise.config.load import validate
from slicewise.gateway.admin import ADMIN_KEY_ENV, _refused
from slicewise.ledger.report import report
from tests.fakes.upstream import FakeUpstream, status
from tests.gateway import conftest
from tests.gateway.server import GatewayServer

HI = [{"role": "user", "content": "hi there"}]
ADMIN = "admin-test-key-0123456789"
QUIET = {"retries": 0, "deadline": 6, "attempt_timeout": 2}


def chat(server: Any, model: str) -> httpx.Response:
    body = {"model": model, "messages": HI}
    return httpx.post(server.url + "/v1/chat/completions", json=body, timeout=20)


def traffic(server: Any, fake: FakeUpstream) -> None:
    """Four answered requests (three models named, one routed) and one that fails upstream."""
    for model in ("openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-latest"):
        assert chat(server, model).status_code == 200
    routed = chat(server, "auto")
    assert routed.status_code == 200, routed.text
    fake.script(status(500), model="gpt-4o")
    assert chat(server, "openai/gpt-4o").status_code == 502


def get(server: Any, path: str, **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=20)


def test_report_by_model_matches_the_ledger(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server=QUIET)
    traffic(server, fake_upstream)

    reply = get(server, "/admin/report?since=7d&by=model")
    assert reply.status_code == 200
    body = reply.json()
    assert body["by"] == "model" and body["tenant"] is None
    expected = report(server.gateway.recorder.ledger, None, "model")
    assert [r["group"] for r in body["rows"]] == [r.group for r in expected]
    for got, want in zip(body["rows"], expected, strict=True):
        assert got["requests"] == want.requests
        assert Decimal(got["cost_usd"]) == want.cost_usd
        assert Decimal(got["baseline_cost_usd"]) == want.baseline_cost_usd
    requests = {r["group"]: r["requests"] for r in body["rows"]}
    assert requests["openai/gpt-4o"] == 1
    assert sum(requests.values()) == 5


def test_report_as_csv(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server=QUIET)
    traffic(server, fake_upstream)

    reply = get(server, "/admin/report?by=day&format=csv&since=all")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert len(rows) == 1
    assert rows[0]["requests"] == "5"
    assert float(rows[0]["error_rate"]) == pytest.approx(0.2)
    assert Decimal(rows[0]["cost_usd"]) > 0


@pytest.mark.parametrize(
    ("query", "param", "allowed"),
    [
        ("by=colour", "by", "day, tenant, key, model, route"),
        ("since=7x", "since", "30m, 24h, 7d, 4w, or all"),
        ("format=xml", "format", "json, csv"),
        ("group=model", "group", "since, by, tenant, format"),
    ],
)
def test_bad_query_values_are_400s(gateway, query: str, param: str, allowed: str) -> None:
    server = gateway()
    reply = get(server, "/admin/report?" + query)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert allowed in error["message"]


def test_dashboard_rejects_a_bad_period(gateway) -> None:
    reply = get(gateway(), "/dashboard?since=yesterday")
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "since"


def test_admin_key_is_required_when_set(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    config = validate(conftest.test_config(fake_upstream, tmp_path / "ledger.db"), {}, "test")
    with GatewayServer(config, {"TEST_KEY": conftest.KEY, ADMIN_KEY_ENV: ADMIN}) as server:
        for path in ("/admin/report", "/dashboard", "/metrics"):
            missing = get(server, path)
            assert missing.status_code == 401
            assert missing.json()["error"]["type"] == "authentication_error"
            assert ADMIN_KEY_ENV in missing.json()["error"]["message"]
            assert missing.headers["www-authenticate"].startswith("Basic")
            assert get(server, path, authorization="Bearer wrong").status_code == 401
            assert get(server, path, authorization=f"Bearer {ADMIN}").status_code == 200
        basic = base64.b64encode(f"admin:{ADMIN}".encode()).decode()
        assert get(server, "/dashboard", authorization=f"Basic {basic}").status_code == 200


def test_metrics_can_be_made_public(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    raw = conftest.test_config(fake_upstream, tmp_path / "ledger.db")
    raw["server"] = {**raw.get("server", {}), "public_metrics": True}
    config = validate(raw, {}, "test")
    with GatewayServer(config, {"TEST_KEY": conftest.KEY, ADMIN_KEY_ENV: ADMIN}) as server:
        assert get(server, "/metrics").status_code == 200
        assert get(server, "/admin/report").status_code == 401  # only the metrics


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("127.0.0.1", True), ("::1", True), ("10.1.2.3", False), ("testclient", False)],
)
def test_without_a_key_only_loopback_clients_are_answered(host: str, allowed: bool) -> None:
    http = Request({"type": "http", "headers": [], "client": (host, 50000)})
    refused = _refused(http, None)
    if allowed:
        assert refused is None
    else:
        assert refused is not None and refused.status_code == 403
        assert ADMIN_KEY_ENV.encode() in bytes(refused.body)
