"""Timeouts, retries, fallbacks, breakers, limits and disconnects, through the real server."""

from __future__ import annotations

import asyncio
import time

import httpx2 as httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream, delay, hang, malformed, status

HI = [{"role": "user", "content": "hi"}]


def post(server, body: dict, path: str = "/v1/chat/completions") -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=20)


def test_429_retry_after_is_honoured_then_succeeds(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway()
    fake_upstream.script(status(429, retry_after=0.3), model="gpt-4o")
    started = time.monotonic()
    reply = post(server, {"model": "openai/gpt-4o", "messages": HI})
    assert reply.status_code == 200
    assert time.monotonic() - started >= 0.3
    assert fake_upstream.calls["gpt-4o"] == 2


def test_slow_upstream_times_out_and_falls_back(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(
        routes={
            "pair": {
                "target": "0.5",
                "candidates": ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"],
                "fallback": ["anthropic/claude-3-5-haiku-latest"],
            }
        },
        server={"attempt_timeout": 0.3, "deadline": 5, "retries": 0},
    )
    fake_upstream.script(delay(2.0), model="gpt-4o-mini")
    reply = post(server, {"model": "pair", "messages": HI})
    assert reply.status_code == 200
    assert reply.headers["x-slicewise-model"] == "anthropic/claude-3-5-haiku-latest"
    row = server.gateway.recorder.ledger.transactions(1)[0]
    assert row["fallbacks"] == [
        {"model": "openai/gpt-4o-mini", "error": "UpstreamTimeout", "status": None}
    ]


def test_malformed_upstream_json_is_a_clear_502(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server={"retries": 0})
    fake_upstream.script(malformed(), model="gpt-4o")
    reply = post(server, {"model": "openai/gpt-4o", "messages": HI})
    assert reply.status_code == 502
    error = reply.json()["error"]
    assert error["type"] == "server_error" and "openai" in error["message"]


def test_deadline_bounds_the_whole_request(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server={"attempt_timeout": 5, "deadline": 0.5, "retries": 3})
    fake_upstream.script(hang(), model="gpt-4o")
    started = time.monotonic()
    reply = post(server, {"model": "openai/gpt-4o", "messages": HI})
    assert reply.status_code == 504
    assert time.monotonic() - started < 2


def test_breaker_opens_and_removes_the_model(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server={"retries": 0})
    fake_upstream.script(*[status(500)] * 5, model="gpt-4o")
    for _ in range(5):
        assert post(server, {"model": "openai/gpt-4o", "messages": HI}).status_code == 502
    calls = fake_upstream.calls["gpt-4o"]
    reply = post(server, {"model": "openai/gpt-4o", "messages": HI})
    assert reply.status_code == 503
    assert "circuit open" in reply.json()["error"]["message"]
    assert fake_upstream.calls["gpt-4o"] == calls
    assert httpx.get(server.url + "/readyz").json()["breakers"]["openai/gpt-4o"] == "open"
    # routing skips it: auto still answers
    assert post(server, {"model": "auto", "messages": HI}).status_code == 200


def test_body_and_context_limits(gateway) -> None:
    server = gateway(server={"max_body_bytes": 2000})
    big = post(server, {"model": "auto", "messages": [{"role": "user", "content": "x" * 5000}]})
    assert big.status_code == 413
    assert "over the limit of 2000" in big.json()["error"]["message"]
    server = gateway(
        models=[
            {
                "name": "openai/gpt-4o-mini",
                "input_usd_per_mtok": 0.15,
                "output_usd_per_mtok": 0.6,
                "context_window": 100,
            }
        ]
    )
    long = post(
        server,
        {
            "model": "openai/gpt-4o-mini",
            "max_tokens": 90,
            "messages": [{"role": "user", "content": "y" * 200}],
        },
    )
    assert long.status_code == 400
    assert "context window of 100" in long.json()["error"]["message"]


def test_dry_run_route_calls_no_model(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway()
    reply = post(server, {"model": "auto", "messages": HI}, "/v1/route")
    assert reply.status_code == 200
    body = reply.json()
    assert body["route"] == "auto" and body["model"] in {c["model"] for c in body["candidates"]}
    assert body["reason"] and not fake_upstream.requests


def test_health_endpoints(gateway) -> None:
    server = gateway()
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz").json()["routes"] == ["auto"]


def test_client_disconnect_cancels_the_upstream_call(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway()
    fake_upstream.script(delay(3.0), model="gpt-4o")

    async def go() -> None:
        async with openai.AsyncOpenAI(
            base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=0.3
        ) as client:
            with pytest.raises(openai.APITimeoutError):
                await client.chat.completions.create(model="openai/gpt-4o", messages=HI)
        await asyncio.sleep(0.3)

    asyncio.run(go())
    row = server.gateway.recorder.ledger.transactions(1)[0]
    assert row["status"] == 499 and "disconnected" in row["error"]


def test_async_sdk_streaming(gateway) -> None:
    server = gateway()

    async def go() -> str:
        async with openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="x") as client:
            stream = await client.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "async"}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(go()) == "async"


def test_every_request_is_in_the_ledger(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server={"retries": 0})
    fake_upstream.script(status(500), model="gpt-4o")
    codes = [
        post(server, body).status_code
        for body in (
            {"model": "auto", "messages": HI},
            {"model": "openai/gpt-4o", "messages": HI},
            {"model": "nope", "messages": HI},
            {"model": "auto", "messages": HI, "stream": True},
        )
    ]
    assert codes == [200, 502, 404, 200]
    rows = server.gateway.recorder.ledger.transactions(10)
    assert sorted(r["status"] for r in rows) == [200, 200, 404, 502]
    served = [r for r in rows if r["status"] == 200]
    assert all(r["cost_usd"] is not None and r["baseline_cost_usd"] is not None for r in served)


def test_untranslatable_request_falls_back_to_a_model_that_can(
    gateway, fake_upstream: FakeUpstream
) -> None:
    server = gateway(
        routes={
            "pair": {
                "target": "0.5",
                "candidates": ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"],
                "fallback": ["openai/gpt-4o-mini"],
            }
        }
    )
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    claude = post(
        server,
        {"model": "anthropic/claude-3-5-haiku-latest", "messages": HI, "response_format": schema},
    )
    assert claude.status_code == 400
    assert "json_schema is not supported" in claude.json()["error"]["message"]
    assert claude.json()["error"]["param"] == "response_format"
    routed = post(server, {"model": "pair", "messages": HI, "response_format": schema})
    assert routed.status_code == 200
    assert routed.headers["x-slicewise-model"] == "openai/gpt-4o-mini"


def test_unknown_paths_and_methods_have_the_error_shape(gateway) -> None:
    server = gateway()
    missing = httpx.get(server.url + "/v1/nothing")
    assert missing.status_code == 404
    assert "POST /v1/chat/completions" in missing.json()["error"]["message"]
    wrong = httpx.get(server.url + "/v1/messages")
    assert wrong.status_code == 405 and wrong.json()["type"] == "error"
