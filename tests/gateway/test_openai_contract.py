"""The official openai SDK against the running gateway, with a scripted fake upstream."""

from __future__ import annotations

import json

import openai
import pytest

from tests.fakes.upstream import FakeUpstream, ToolCall, cut, ok, status
from tests.gateway.conftest import KEY


@pytest.fixture
def client(gateway):
    server = gateway()
    with openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0) as c:
        c.server = server  # type: ignore[attr-defined]
        yield c


def test_auto_routes_and_says_where(client, fake_upstream: FakeUpstream) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == "What is the capital of France?"
    assert reply.model == raw.headers["x-slicewise-model"]
    assert raw.headers["x-slicewise-route"] == "auto"
    assert raw.headers["x-slicewise-request-id"].startswith("req_")
    assert float(raw.headers["x-slicewise-cost-usd"]) > 0
    assert reply.usage is not None and reply.usage.total_tokens > 0


def test_explicit_model_is_served_as_asked(client, fake_upstream: FakeUpstream) -> None:
    reply = client.chat.completions.create(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.model == "openai/gpt-4o"
    assert fake_upstream.requests[-1].body["model"] == "gpt-4o"


def test_openai_client_reaches_an_anthropic_model(client, fake_upstream: FakeUpstream) -> None:
    reply = client.chat.completions.create(
        model="anthropic/claude-3-5-haiku-latest",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    )
    assert reply.choices[0].message.content == "hi"
    sent = fake_upstream.requests[-1]
    assert sent.path == "/v1/messages" and sent.body["system"] == "be brief"


def test_streaming_with_usage(client, fake_upstream: FakeUpstream) -> None:
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "stream me"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_tool_calls(client, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=ToolCall("get_weather", {"city": "Oslo"})))
    reply = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    )
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {
        "city": "Oslo"
    }
    assert reply.choices[0].finish_reason == "tool_calls"


def test_retries_then_falls_back(client, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(500), status(503), model="gpt-4o")
    reply = client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "x" * 20}]
    )
    assert reply.choices[0].message.content
    rows = client.server.gateway.recorder.ledger.transactions(1)
    assert rows[0]["status"] == 200


def test_stream_failing_before_first_byte_falls_back(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(
        routes={
            "pair": {
                "target": "0.5",
                "candidates": ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"],
            }
        }
    )
    fake_upstream.script(status(502), status(502), model="gpt-4o-mini")
    with openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="pair", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == "hi"
    assert raw.headers["x-slicewise-model"] == "anthropic/claude-3-5-haiku-latest"
    row = server.gateway.recorder.ledger.transactions(1)[0]
    assert [f["model"] for f in row["fallbacks"]] == ["openai/gpt-4o-mini"] * 2
    assert row["model"] == "anthropic/claude-3-5-haiku-latest" and row["status"] == 200


def test_explicit_model_failing_is_a_502(client, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(502), status(502), model="gpt-4o-mini")
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert caught.value.status_code == 502
    assert "gpt-4o-mini" in str(caught.value) or "openai" in str(caught.value)


def test_stream_cut_mid_way_ends_with_an_error(client, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(cut(after_chunks=2))
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "a long answer"}],
        stream=True,
    )
    with pytest.raises(openai.APIError):
        list(stream)


def test_rejected_key_names_the_variable(client, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(401), model="gpt-4o")
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert "TEST_KEY" in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "status_code", "param"),
    [
        ({"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404, "model"),
        ({"model": "auto", "messages": []}, 400, "messages"),
        ({"model": "auto", "messages": [{"role": "bot", "content": "x"}]}, 400, "messages[0].role"),
        ({"model": "auto", "messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "n"),
    ],
)
def test_bad_requests_name_the_field(client, kwargs, status_code: int, param: str) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(**kwargs)
    assert caught.value.status_code == status_code
    body = caught.value.body
    assert isinstance(body, dict) and body.get("param") == param


def test_models_lists_routes_and_models(client) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "auto" and "openai/gpt-4o-mini" in ids
