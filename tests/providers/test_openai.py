"""The OpenAI-compatible adapter against a real upstream on loopback: the scripted fake for
whole behaviours, ``tests.providers.raw`` for bytes the fake never sends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
import pytest

from slicewise.chat import ChatRequest, Message, StreamEnd, TextDelta, Tool, ToolCallDelta, Usage
from slicewise.errors import (
    UpstreamConnection,
    UpstreamProtocol,
    UpstreamStatus,
    UpstreamTimeout,
)
from slicewise.providers.openai import OpenAICompatible
from tests.fakes.upstream import (
    MODELS,
    Behaviour,
    FakeUpstream,
    ToolCall,
    cut,
    fingerprint,
    hang,
    malformed,
    ok,
    stall,
    status,
)
from tests.providers import raw
from tests.providers.scripted import KEY, REQUEST, closed_port, collect

pytestmark = pytest.mark.anyio

Make = Callable[..., OpenAICompatible]
LOG = "slicewise.providers.http"


@pytest.fixture
async def openai(fake_upstream: FakeUpstream) -> AsyncIterator[Make]:
    """Makes adapters (at the fake unless given a ``base_url``) and closes them afterwards."""
    made: list[OpenAICompatible] = []

    def make(base_url: str | None = None, **options: Any) -> OpenAICompatible:
        options.setdefault("api_key", KEY)
        chosen = OpenAICompatible("openai", base_url or fake_upstream.url + "/v1/", **options)
        made.append(chosen)
        return chosen

    yield make
    for chosen in made:
        await chosen.aclose()


def sse(*payloads: Any) -> list[bytes]:
    return [
        b"data: " + (p if isinstance(p, bytes) else orjson.dumps(p)) + b"\n\n" for p in payloads
    ]


def delta(content: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}


STREAM = sse(
    delta("Hel"),
    delta("lo"),
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
    b"[DONE]",
)


async def first_event(chosen: OpenAICompatible, timeout: float = 5) -> Any:
    """As the dispatcher does it: the first event awaited on its own task, under a timeout."""
    events = chosen.stream("gpt-4o-mini", REQUEST, timeout).__aiter__()
    return await asyncio.wait_for(events.__anext__(), 5)


async def test_complete_sends_a_bearer_key_and_reads_the_answer(
    openai: Make, fake_upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    fake_upstream.script(ok("Hi there"))
    caplog.set_level(logging.INFO, logger=LOG)
    response = await openai(headers={"x-team": "search"}).complete("gpt-4o-mini", REQUEST, 5)
    assert (response.model, response.message) == (
        "openai/gpt-4o-mini",
        Message("assistant", "Hi there"),
    )
    assert (response.finish_reason, response.usage) == ("stop", Usage(5, 2))
    (sent,) = fake_upstream.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == fingerprint(f"Bearer {KEY}")
    assert (sent.headers["content-type"], sent.headers["x-team"]) == ("application/json", "search")
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "What is the secret recipe?"}],
    }
    (line,) = caplog.messages
    assert "provider=openai model=gpt-4o-mini status=200" in line
    assert "input_tokens=5 output_tokens=2" in line
    assert "secret recipe" not in line
    assert KEY not in line


async def test_token_field_option(openai: Make, fake_upstream: FakeUpstream) -> None:
    request = ChatRequest(model="auto", messages=REQUEST.messages, max_tokens=2)
    await openai(token_field="max_completion_tokens").complete("o3", request, 5)
    assert fake_upstream.requests[-1].body["max_completion_tokens"] == 2


async def test_stream_asks_for_usage_and_yields_events(
    openai: Make, fake_upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    fake_upstream.script(ok("Hello world"))
    caplog.set_level(logging.INFO, logger=LOG)
    events = await collect(openai().stream("gpt-4o-mini", REQUEST, 5))
    assert events == [TextDelta("Hello"), TextDelta(" world"), StreamEnd("stop", Usage(5, 2))]
    body = fake_upstream.requests[-1].body
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    (line,) = caplog.messages
    assert "status=200" in line
    assert "output_tokens=2" in line
    assert "error=" not in line


async def test_stream_in_one_byte_chunks(openai: Make) -> None:
    body = b"".join(STREAM)
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.chunked([body[i : i + 1] for i in range(len(body))]))
        events = await collect(openai(upstream.url + "/v1").stream("m", REQUEST, 5))
    assert events == [TextDelta("Hel"), TextDelta("lo"), StreamEnd("stop", Usage(5, 2))]


async def test_stream_with_tool_calls(openai: Make, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=ToolCall("lookup", {"city": "Oslo"})))
    request = ChatRequest(model="auto", messages=REQUEST.messages, tools=(Tool("lookup"),))
    events = await collect(openai().stream("gpt-4o-mini", request, 5))
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert (calls[0].index, calls[0].name) == (0, "lookup")
    assert calls[0].id is not None and calls[0].id.startswith("call_fake")
    assert orjson.loads("".join(c.arguments for c in calls)) == {"city": "Oslo"}
    assert events[-1] == StreamEnd("tool_calls", Usage(5, 3))


@pytest.mark.parametrize(
    ("behaviour", "error", "message"),
    [
        (
            status(429, retry_after=1.5, body={"error": {"message": "Rate limit reached"}}),
            UpstreamStatus,
            "openai: HTTP 429: Rate limit reached",
        ),
        (
            status(503, body="<html>Service Unavailable</html>"),
            UpstreamStatus,
            "HTTP 503: <html>Service Unavailable",
        ),
        (hang(), UpstreamTimeout, "openai: no"),
    ],
)
async def test_failures_before_the_first_event_raise_from_it(
    openai: Make,
    fake_upstream: FakeUpstream,
    behaviour: Behaviour,
    error: type[Exception],
    message: str,
) -> None:
    fake_upstream.script(behaviour, behaviour)
    with pytest.raises(error, match=message):
        await openai().complete("gpt-4o-mini", REQUEST, 0.2)
    with pytest.raises(error, match=message):
        await first_event(openai(), timeout=0.2)


async def test_unreachable_upstream(openai: Make) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    message = f"openai: cannot reach {url}/chat/completions: Cannot connect to host"
    with pytest.raises(UpstreamConnection, match=message):
        await openai(url).complete("m", REQUEST, 5)
    with pytest.raises(UpstreamConnection, match=message):
        await first_event(openai(url))


async def test_upstream_hanging_up_before_answering(openai: Make) -> None:
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.hang_up(), raw.hang_up())
        chosen = openai(upstream.url + "/v1")
        with pytest.raises(UpstreamConnection, match="Server disconnected"):
            await chosen.complete("m", REQUEST, 5)
        with pytest.raises(UpstreamConnection, match="Server disconnected"):
            await first_event(chosen)


async def test_retry_after_in_seconds_is_kept(openai: Make, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(429, retry_after=7, body={"error": {"message": "slow down"}}))
    with pytest.raises(UpstreamStatus) as caught:
        await openai().complete("gpt-4o-mini", REQUEST, 5)
    assert (caught.value.status, caught.value.retry_after, caught.value.retryable) == (
        429,
        7.0,
        True,
    )


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Thu, 01 Jan 2015 00:00:00 GMT"}, 0.0),  # a date in the past
        ({"Retry-After": "soon"}, None),
    ],
)
async def test_retry_after_in_milliseconds_or_as_a_date(
    openai: Make, headers: dict[str, str], seconds: float | None
) -> None:
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.json(429, {"error": {"message": "slow down"}}, headers))
        with pytest.raises(UpstreamStatus) as caught:
            await openai(upstream.url + "/v1").complete("m", REQUEST, 5)
    assert caught.value.retry_after == seconds


async def test_refused_key_names_its_variable_and_is_never_shown(
    openai: Make, fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake_upstream.script(status(401, body={"error": {"message": f"Incorrect API key: {KEY}."}}))
    with pytest.raises(UpstreamStatus) as caught:
        await openai(api_key=None, key_env="OPENAI_API_KEY").complete("gpt-4o-mini", REQUEST, 5)
    assert fake_upstream.requests[0].headers["authorization"] == fingerprint(f"Bearer {KEY}")
    message = str(caught.value)
    assert "check that the environment variable OPENAI_API_KEY holds a valid key" in message
    assert KEY not in message
    assert "[redacted]" in message
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("options", "hint"),
    [({"api_key": KEY}, "check the api_key configured"), ({"api_key": None}, "no key was sent")],
)
async def test_refused_key_hints_without_a_variable(
    openai: Make, fake_upstream: FakeUpstream, options: dict[str, Any], hint: str
) -> None:
    fake_upstream.script(status(403, body={"error": {"message": "denied"}}))
    with pytest.raises(UpstreamStatus, match=hint):
        await openai(**options).complete("gpt-4o-mini", REQUEST, 5)
    sent = fake_upstream.requests[0].headers
    assert ("authorization" in sent) == (options["api_key"] is not None)


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (malformed(), "openai: response body: not JSON: '<html>502 Bad Gateway"),
        # a 200 with the wrong shape: ``status`` sends any code with the body given
        (status(200, body={"choices": "none"}), "openai: choices: expected an array"),
    ],
)
async def test_off_protocol_answers(
    openai: Make, fake_upstream: FakeUpstream, behaviour: Behaviour, message: str
) -> None:
    fake_upstream.script(behaviour)
    with pytest.raises(UpstreamProtocol, match=message):
        await openai().complete("gpt-4o-mini", REQUEST, 5)


async def test_undecodable_answer(openai: Make) -> None:
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.whole(200, b"not gzip at all", {"content-encoding": "gzip"}))
        with pytest.raises(UpstreamProtocol, match=r"answer could not be decoded: .*gzip"):
            await openai(upstream.url + "/v1").complete("m", REQUEST, 5)


async def test_timeout_bounds_the_whole_call(
    openai: Make, fake_upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    # half the body at once, the rest after 1 s: no single wait is long, the whole call is
    fake_upstream.script(stall(1.0))
    caplog.set_level(logging.INFO, logger=LOG)
    with pytest.raises(UpstreamTimeout, match=r"no answer in 0\.2s"):
        await openai().complete("gpt-4o-mini", REQUEST, 0.2)
    (line,) = caplog.messages
    assert "status=200" in line
    assert "error=UpstreamTimeout" in line


async def test_body_cut_short_is_a_lost_connection(
    openai: Make, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(cut())
    with pytest.raises(UpstreamConnection, match="Response payload is not completed"):
        await openai().complete("gpt-4o-mini", REQUEST, 5)


async def test_cut_stream_raises_after_the_events_it_had(
    openai: Make, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(cut(after_chunks=3))  # the role chunk, then a word a chunk
    events = openai().stream("gpt-4o-mini", REQUEST, 5)
    assert [await events.__anext__(), await events.__anext__()] == [
        TextDelta("What"),
        TextDelta(" is"),
    ]
    with pytest.raises(
        UpstreamProtocol,
        match=r"stream cut after 2 events: the connection failed \(Response payload",
    ):
        await events.__anext__()


async def test_stream_ended_before_its_last_event_is_a_cut(openai: Make) -> None:
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.chunked(STREAM[:2]))
        with pytest.raises(
            UpstreamProtocol,
            match="stream cut after 2 events: the upstream closed it before its last event",
        ):
            await collect(openai(upstream.url + "/v1").stream("m", REQUEST, 5))


async def test_silence_mid_stream_is_a_timeout(openai: Make, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(stall(1.0, after_chunks=2))
    with pytest.raises(UpstreamTimeout, match=r"no data for 0\.2s after 1 events"):
        await collect(openai().stream("gpt-4o-mini", REQUEST, 0.2))


async def test_malformed_event(openai: Make, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(malformed())
    with pytest.raises(UpstreamProtocol, match=r"openai: .*not JSON"):
        await first_event(openai())


async def test_in_band_error_mid_stream(openai: Make) -> None:
    chunks = [*STREAM[:1], *sse({"error": {"message": "model overloaded", "code": 503}})]
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.chunked(chunks))
        with pytest.raises(
            UpstreamStatus, match="HTTP 503: error inside the stream: model overloaded"
        ):
            await collect(openai(upstream.url + "/v1").stream("m", REQUEST, 5))


async def test_json_answer_to_a_stream_request(openai: Make, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(200, body={"id": "chatcmpl-1", "choices": []}))
    with pytest.raises(UpstreamProtocol, match="answered a stream with JSON, not events"):
        await first_event(openai())


async def test_abandoned_stream_is_logged_once(
    openai: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    events = openai().stream("gpt-4o-mini", REQUEST, 5)
    assert await events.__anext__() == TextDelta("What")
    await events.aclose()  # type: ignore[attr-defined]
    (line,) = caplog.messages
    assert "error=cancelled" in line


async def test_models_lists_ids_and_failures_are_empty(
    openai: Make, fake_upstream: FakeUpstream
) -> None:
    assert await openai().models() == list(MODELS)
    assert fake_upstream.requests[-1].path == "/v1/models"
    assert await openai(fake_upstream.url + "/nowhere").models() == []  # a 404
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.whole(200, b"nope"), raw.json(200, {"data": "none"}))
        listing = openai(upstream.url + "/v1")
        assert await listing.models() == []
        assert await listing.models() == []
    assert await openai(f"http://127.0.0.1:{closed_port()}/v1").models() == []


async def test_aclose_closes_only_a_session_it_made(openai: Make) -> None:
    async with aiohttp.ClientSession() as given:
        await OpenAICompatible("a", "http://x/v1", client=given).aclose()
        assert not given.closed
    made = OpenAICompatible("b", "http://x/v1")
    await made.aclose()  # never used: there is no session to close
    assert made._http._client is None
    async with raw.RawUpstream() as upstream:
        used = openai(upstream.url + "/v1")
        await collect(used.stream("m", REQUEST, 5))
        session = used._http.session
        await used.aclose()
    assert session.closed
