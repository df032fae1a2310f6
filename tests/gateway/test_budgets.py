"""Budgets and rate limits at the gateway: 429s that say why, and no overrun under concurrency."""

from __future__ import annotations

import asyncio
import os
import time
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from slicewise.chat import ChatRequest, Message
from slicewise.gateway.admission import ceiling
from slicewise.gateway.plan import plan
from slicewise.ledger import Ledger, Transaction
from slicewise.ledger.engine import open_engine
from slicewise.ledger.migrations import migrate
from slicewise.tenancy.counters import MemoryCounters
from slicewise.tenancy.keys import Limits, create_key, set_tenant
from slicewise.tenancy.spend import spent
from tests.fakes.upstream import FakeUpstream, delay, ok
from tests.gateway.server import GatewayServer

HI = [{"role": "user", "content": "hi there"}]
AUTH = {"required": True, "cache_seconds": 0}
MODEL = "openai/gpt-4o"  # $2.50 in, $10 out per million tokens


def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def new_key(tmp_path: Path, key: Limits | None = None, tenant: Limits | None = None) -> str:
    engine = open_engine(ledger_url(tmp_path))
    migrate(engine)
    set_tenant(engine, "acme", tenant or Limits())
    _, secret = create_key(engine, "acme", limits=key)
    engine.dispose()
    return secret


def spend_before(tmp_path: Path, usd: str) -> None:
    """A transaction of tenant acme's, already in the ledger when the gateway starts."""
    ledger = Ledger(ledger_url(tmp_path))
    ledger.record(
        Transaction(
            request_id="req_old",
            created=time.time() - 1,
            endpoint="openai.chat",
            route="explicit",
            router="explicit",
            requested=MODEL,
            model=MODEL,
            status=200,
            latency_ms=1.0,
            cost_usd=Decimal(usd),
            tenant="acme",
        )
    )
    ledger.close()


def client(server: GatewayServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def test_over_budget_is_a_rate_limit_error_naming_the_budget(gateway, tmp_path: Path) -> None:
    secret = new_key(tmp_path, key=Limits(daily_usd=Decimal("0.00001")))
    server = gateway(auth=AUTH)
    with pytest.raises(openai.RateLimitError) as caught:
        client(server, secret).chat.completions.create(model=MODEL, messages=HI, max_tokens=50)
    message = caught.value.message
    assert "daily budget of key key_" in message and "($0.00001)" in message
    assert "resets at" in message and "00:00 UTC" in message
    retry_after = int(caught.value.response.headers["retry-after"])
    assert 0 < retry_after <= 86400


def test_spend_in_the_ledger_counts_against_the_month(gateway, tmp_path: Path) -> None:
    secret = new_key(tmp_path, tenant=Limits(monthly_usd=Decimal("1")))
    spend_before(tmp_path, "0.9999")
    server = gateway(auth=AUTH)
    with pytest.raises(openai.RateLimitError) as caught:
        client(server, secret).chat.completions.create(model=MODEL, messages=HI, max_tokens=50)
    assert "monthly budget of tenant acme ($1)" in caught.value.message
    assert "-01 00:00 UTC" in caught.value.message


def test_settles_the_actual_cost(gateway, tmp_path: Path) -> None:
    secret = new_key(tmp_path, key=Limits(daily_usd=Decimal("1")))
    server = gateway(auth=AUTH)
    raw = client(server, secret).chat.completions.with_raw_response.create(
        model=MODEL, messages=HI, max_tokens=1000
    )
    cost = Decimal(raw.headers["x-slicewise-cost-usd"])
    budgets = server.gateway.guard.budgets
    time.sleep(0.2)  # settling runs in the background
    counters = budgets.counters
    assert isinstance(counters, MemoryCounters)
    (key,) = [k for k in counters._values if k.startswith("spend:key:")]
    assert counters.value(key) == int(cost * 10**9)  # the reservation gave way to the cost


def test_budget_use_is_in_the_metrics(gateway, tmp_path: Path) -> None:
    secret = new_key(tmp_path, key=Limits(daily_usd=Decimal("1")), tenant=Limits(monthly_usd=5))
    server = gateway(auth=AUTH)
    raw = client(server, secret).chat.completions.with_raw_response.create(
        model=MODEL, messages=HI, max_tokens=1000
    )
    cost = float(raw.headers["x-slicewise-cost-usd"])
    time.sleep(0.2)  # settling runs in the background
    found = {
        (s.name, s.labels["scope"], s.labels["period"]): s.value
        for family in text_string_to_metric_families(httpx.get(server.url + "/metrics").text)
        for s in family.samples
        if s.name.startswith("slicewise_budget_")
    }
    assert found[("slicewise_budget_limit_usd", "key", "daily")] == 1.0
    assert found[("slicewise_budget_limit_usd", "tenant", "monthly")] == 5.0
    assert found[("slicewise_budget_spent_usd", "key", "daily")] == pytest.approx(cost)
    assert found[("slicewise_budget_spent_usd", "tenant", "monthly")] == pytest.approx(cost)


def test_concurrent_requests_cannot_overrun_a_nearly_spent_budget(
    gateway, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    limit = Decimal("0.01")
    secret = new_key(tmp_path, tenant=Limits(daily_usd=limit))
    spend_before(tmp_path, "0.0096")  # room for a few reservations of about $0.0001
    server = gateway(auth=AUTH)
    fake_upstream.script(*[delay(0.05, ok("one two three four five"))] * 60, model="gpt-4o")

    async def fire() -> list[BaseException | object]:
        async with openai.AsyncOpenAI(
            base_url=server.url + "/v1", api_key=secret, max_retries=0
        ) as sdk:
            calls = [
                sdk.chat.completions.create(model=MODEL, messages=HI, max_tokens=8)
                for _ in range(60)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(fire())
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    served = [r for r in results if not isinstance(r, BaseException)]
    assert refused and served and len(refused) + len(served) == 60
    server.gateway.recorder.ledger.flush()
    total = Decimal(spent(server.gateway.recorder.ledger.engine, "tenant", "acme", 0)) / 10**9
    request = ChatRequest(MODEL, tuple(Message("user", m["content"]) for m in HI), max_tokens=8)
    gw = server.gateway
    reservation = ceiling(gw.catalog, request, plan(gw.catalog, request, gw.ready), 4096)
    assert total <= limit + reservation, f"spent {total} of {limit}"


def test_requests_per_minute(gateway, tmp_path: Path) -> None:
    secret = new_key(tmp_path, key=Limits(rpm=2))
    server = gateway(auth=AUTH)
    sdk = client(server, secret)
    if 60 - time.time() % 60 < 2:  # do not straddle a minute's edge
        time.sleep(2)
    for _ in range(2):
        sdk.chat.completions.create(model="auto", messages=HI)
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model="auto", messages=HI)
    assert "allows 2 requests per minute" in caught.value.message
    assert 0 < int(caught.value.response.headers["retry-after"]) <= 60


def test_tokens_per_minute_from_the_tenant(gateway, tmp_path: Path) -> None:
    secret = new_key(tmp_path, tenant=Limits(tpm=5))
    server = gateway(auth=AUTH)
    long = [{"role": "user", "content": "word " * 40}]
    with pytest.raises(openai.RateLimitError) as caught:
        client(server, secret).chat.completions.create(model="auto", messages=long)
    assert "allows 5 tokens per minute" in caught.value.message


def test_tokens_per_minute_count_max_tokens_up_front(gateway, tmp_path: Path) -> None:
    secret = new_key(tmp_path, key=Limits(tpm=1000))
    server = gateway(auth=AUTH)
    sdk = client(server, secret)
    if 60 - time.time() % 60 < 2:  # do not straddle a minute's edge
        time.sleep(2)
    sdk.chat.completions.create(model="auto", messages=HI, max_tokens=400)  # settles to ~5
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model="auto", messages=HI, max_tokens=1000)
    assert "allows 1000 tokens per minute" in caught.value.message


def _redis_url() -> str:
    url = os.environ.get("SLICEWISE_TEST_REDIS", "redis://127.0.0.1:6379/0")
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError):
        pytest.skip(f"Redis is not reachable at {url} (shared counters test); .ci/run starts it")
    return url


def test_two_instances_share_limits_through_redis(gateway, tmp_path: Path) -> None:
    url = _redis_url()
    secret = new_key(tmp_path, key=Limits(rpm=3))
    shared = {"url": url, "prefix": f"slicewise-test-{os.urandom(4).hex()}"}
    first, second = gateway(auth=AUTH, redis=shared), gateway(auth=AUTH, redis=shared)
    if 60 - time.time() % 60 < 3:  # do not straddle a minute's edge
        time.sleep(3)
    for server in (first, second, first):
        client(server, secret).chat.completions.create(model="auto", messages=HI)
    with pytest.raises(openai.RateLimitError):
        client(server=second, key=secret).chat.completions.create(model="auto", messages=HI)
