from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx2
import orjson
import pytest

from slicewise.chat import ChatResponse, Message, StreamEnd, TextDelta, ToolCallDelta, Usage
from slicewise.errors import (
    UpstreamConnection,
    UpstreamProtocol,
    UpstreamStatus,
    UpstreamTimeout,
)
from slicewise.providers.openai import OpenAICompatible
from tests.providers.scripted import KEY, REQUEST, Upstream, answer, collect, json_answer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the providers bound whole calls with asyncio.timeout


COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


def provider(upstream: Upstream, **options: Any) -> OpenAICompatible:
    options.setdefault("api_key", KEY)
    return OpenAICompatible("openai", "https://api.test/v1/", client=upstream.client(), **options)


def sse(*payloads: Any) -> list[bytes]:
    out = []
    for payload in payloads:
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        out.append(b"data: " + data + b"\n\n")
    return out


def delta(content: str) -> dict[str, Any]:
    return {
        "id": "c",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }


STREAM = sse(
    delta("Hel"),
    delta("lo"),
    {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"id": "c", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
    b"[DONE]",
)


async def test_complete_sends_a_bearer_key_and_reads_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream = Upstream([json_answer(COMPLETION)])
    caplog.set_level(logging.INFO, logger="slicewise.providers.http")
    response = await provider(upstream, headers={"x-team": "search"}).complete(
        "gpt-4o-mini", REQUEST, 5
    )
    assert response == ChatResponse(
        "chatcmpl-1", "openai/gpt-4o-mini", Message("assistant", "Hi"), "stop", Usage(5, 2)
    )
    sent = upstream.requests[0]
    assert (sent.method, str(sent.url)) == ("POST", "https://api.test/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert (sent.headers["content-type"], sent.headers["x-team"]) == ("application/json", "search")
    assert upstream.body() == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "What is the secret recipe?"}],
    }
    (line,) = caplog.messages
    assert "provider=openai model=gpt-4o-mini status=200" in line
    assert "input_tokens=5 output_tokens=2" in line
    assert "secret recipe" not in line
    assert KEY not in line


async def test_token_field_option() -> None:
    upstream = Upstream([json_answer(COMPLETION)])
    request = REQUEST.__class__(model="auto", messages=REQUEST.messages, max_tokens=9)
    await provider(upstream, token_field="max_completion_tokens").complete("o3", request, 5)
    assert upstream.body()["max_completion_tokens"] == 9


async def test_stream_asks_for_usage_and_yields_events(caplog: pytest.LogCaptureFixture) -> None:
    upstream = Upstream([answer(body=STREAM, stream=True)])
    caplog.set_level(logging.INFO, logger="slicewise.providers.http")
    events = await collect(provider(upstream).stream("gpt-4o-mini", REQUEST, 5))
    assert events == [TextDelta("Hel"), TextDelta("lo"), StreamEnd("stop", Usage(5, 2))]
    body = upstream.body()
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    (line,) = caplog.messages
    assert "status=200" in line
    assert "output_tokens=2" in line
    assert "error=" not in line


async def test_stream_split_at_every_byte() -> None:
    raw = b"".join(STREAM)
    upstream = Upstream([answer(body=[raw[i : i + 1] for i in range(len(raw))], stream=True)])
    events = await collect(provider(upstream).stream("m", REQUEST, 5))
    assert events[-1] == StreamEnd("stop", Usage(5, 2))


async def test_stream_with_tool_calls() -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }
    chunks = sse(
        {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        b"[DONE]",
    )
    events = await collect(
        provider(Upstream([answer(body=chunks, stream=True)])).stream("m", REQUEST, 5)
    )
    assert events == [ToolCallDelta(0, "call_1", "f", "{}"), StreamEnd("tool_calls", None)]


async def first_event(provider: OpenAICompatible) -> Any:
    """As the dispatcher does it: the first event awaited on its own, under a timeout."""
    events = provider.stream("m", REQUEST, 5).__aiter__()
    return await asyncio.wait_for(events.__anext__(), 5)


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            json_answer(
                {"error": {"message": "Rate limit reached", "type": "requests"}},
                429,
                {"retry-after-ms": "1500"},
            ),
            UpstreamStatus,
            "openai: HTTP 429: Rate limit reached",
        ),
        (
            answer(503, b"<html>Service Unavailable</html>"),
            UpstreamStatus,
            "HTTP 503: <html>Service Unavailable",
        ),
        (
            answer(fail=httpx2.ConnectError("Connection refused")),
            UpstreamConnection,
            "cannot reach https://api.test/v1/chat/completions: Connection refused",
        ),
        (answer(fail=httpx2.ReadTimeout("timed out")), UpstreamTimeout, "openai: no"),
        (
            answer(fail=httpx2.RemoteProtocolError("Server disconnected")),
            UpstreamConnection,
            "Server disconnected",
        ),
    ],
)
async def test_failures_before_the_first_event_raise_from_it(
    reply: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await provider(Upstream([reply])).complete("m", REQUEST, 5)
    with pytest.raises(error, match=message):
        await first_event(provider(Upstream([reply])))


async def test_retry_after_is_kept() -> None:
    reply = json_answer({"error": {"message": "slow down"}}, 429, {"retry-after": "7"})
    with pytest.raises(UpstreamStatus) as caught:
        await provider(Upstream([reply])).complete("m", REQUEST, 5)
    assert (caught.value.status, caught.value.retry_after, caught.value.retryable) == (
        429,
        7.0,
        True,
    )


async def test_refused_key_names_its_variable_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    echoed = {"error": {"message": f"Incorrect API key provided: {KEY}."}}
    upstream = Upstream([json_answer(echoed, 401)])
    chosen = OpenAICompatible(
        "openai", "https://api.test/v1", key_env="OPENAI_API_KEY", client=upstream.client()
    )
    with pytest.raises(UpstreamStatus) as caught:
        await chosen.complete("m", REQUEST, 5)
    assert upstream.requests[0].headers["authorization"] == f"Bearer {KEY}"
    message = str(caught.value)
    assert "check that the environment variable OPENAI_API_KEY holds a valid key" in message
    assert KEY not in message
    assert "[redacted]" in message
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("options", "hint"),
    [({"api_key": KEY}, "check the api_key configured"), ({"api_key": None}, "no key was sent")],
)
async def test_refused_key_hints_without_a_variable(options: dict[str, Any], hint: str) -> None:
    upstream = Upstream([json_answer({"error": {"message": "denied"}}, 403)])
    with pytest.raises(UpstreamStatus, match=hint):
        await provider(upstream, **options).complete("m", REQUEST, 5)
    assert ("authorization" in upstream.requests[0].headers) == (options["api_key"] is not None)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            answer(200, b"<html>proxy</html>"),
            "openai: response body: not JSON: '<html>proxy</html>'",
        ),
        (json_answer({"choices": "none"}), "openai: choices: expected an array"),
    ],
)
async def test_off_protocol_answers(reply: Any, message: str) -> None:
    with pytest.raises(UpstreamProtocol, match=message):
        await provider(Upstream([reply])).complete("m", REQUEST, 5)


async def test_whole_call_timeout(caplog: pytest.LogCaptureFixture) -> None:
    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(1)
        return httpx2.Response(200)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(slow))
    caplog.set_level(logging.INFO, logger="slicewise.providers.http")
    chosen = OpenAICompatible("openai", "https://api.test/v1", client=client)
    with pytest.raises(UpstreamTimeout, match=r"no answer in 0\.05s"):
        await chosen.complete("m", REQUEST, 0.05)
    assert "error=UpstreamTimeout" in caplog.messages[0]


async def test_cut_stream_raises_after_the_events_it_had() -> None:
    upstream = Upstream([answer(body=STREAM[:2], stream=True)])
    events = provider(upstream).stream("m", REQUEST, 5)
    assert [await events.__anext__(), await events.__anext__()] == [
        TextDelta("Hel"),
        TextDelta("lo"),
    ]
    with pytest.raises(UpstreamProtocol, match="stream cut after 2 events"):
        await events.__anext__()


async def test_connection_lost_mid_stream_is_a_cut() -> None:
    reply = answer(body=STREAM[:1], fail=httpx2.RemoteProtocolError("peer closed"), stream=True)
    with pytest.raises(UpstreamProtocol, match=r"stream cut after 1 events: .*\(peer closed\)"):
        await collect(provider(Upstream([reply])).stream("m", REQUEST, 5))


async def test_silence_mid_stream_is_a_timeout() -> None:
    reply = answer(body=STREAM[:1], fail=httpx2.ReadTimeout("read timed out"), stream=True)
    with pytest.raises(UpstreamTimeout, match="no data for 5s after 1 events"):
        await collect(provider(Upstream([reply])).stream("m", REQUEST, 5))


async def test_in_band_error_mid_stream() -> None:
    chunks = [*STREAM[:1], *sse({"error": {"message": "model overloaded", "code": 503}})]
    with pytest.raises(UpstreamStatus, match="HTTP 503: error inside the stream: model overloaded"):
        await collect(
            provider(Upstream([answer(body=chunks, stream=True)])).stream("m", REQUEST, 5)
        )


async def test_json_answer_to_a_stream_request() -> None:
    with pytest.raises(UpstreamProtocol, match="answered a stream with JSON, not events"):
        await first_event(provider(Upstream([json_answer(COMPLETION)])))


async def test_abandoned_stream_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="slicewise.providers.http")
    events = provider(Upstream([answer(body=STREAM, stream=True)])).stream("m", REQUEST, 5)
    assert await events.__anext__() == TextDelta("Hel")
    await events.aclose()  # type: ignore[attr-defined]
    (line,) = caplog.messages
    assert "error=cancelled" in line


async def test_models_lists_ids_and_failures_are_empty() -> None:
    listing = {"object": "list", "data": [{"id": "gpt-4o"}, {"id": "gpt-4o-mini"}]}
    upstream = Upstream(
        [json_answer(listing), json_answer({"error": {}}, 500), answer(200, b"nope")]
    )
    chosen = provider(upstream)
    assert await chosen.models() == ["gpt-4o", "gpt-4o-mini"]
    assert str(upstream.requests[0].url) == "https://api.test/v1/models"
    assert await chosen.models() == []
    assert await chosen.models() == []


async def test_aclose_closes_only_a_client_it_made() -> None:
    given = Upstream([]).client()
    await OpenAICompatible("a", "http://x/v1", client=given).aclose()
    assert not given.is_closed
    made = OpenAICompatible("b", "http://x/v1")
    await made.aclose()
    assert made._http._client.is_closed
