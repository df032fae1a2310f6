"""The Anthropic adapter against a real upstream on loopback (see ``test_openai`` for the
failures both adapters share through ``slicewise.providers.http``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from slicewise.chat import ChatRequest, Message, StreamEnd, TextDelta, Tool, ToolCallDelta, Usage
from slicewise.errors import UpstreamProtocol, UpstreamStatus
from slicewise.providers.anthropic import Anthropic
from tests.fakes.upstream import MODELS, FakeUpstream, ToolCall, cut, fingerprint, ok, status
from tests.providers import raw
from tests.providers.scripted import KEY, REQUEST, collect

pytestmark = pytest.mark.anyio

Make = Callable[..., Anthropic]
MODEL = "claude-3-5-haiku-latest"


@pytest.fixture
async def anthropic(fake_upstream: FakeUpstream) -> AsyncIterator[Make]:
    """Makes adapters (at the fake unless given a ``base_url``) and closes them afterwards."""
    made: list[Anthropic] = []

    def make(base_url: str | None = None, **options: Any) -> Anthropic:
        options.setdefault("api_key", KEY)
        chosen = Anthropic("anthropic", base_url or fake_upstream.url + "/", **options)
        made.append(chosen)
        return chosen

    yield make
    for chosen in made:
        await chosen.aclose()


def event(name: str, **payload: Any) -> bytes:
    return (
        b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **payload}) + b"\n\n"
    )


START = event(
    "message_start",
    message={
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [],
        "usage": {"input_tokens": 5, "output_tokens": 1},
    },
)
TEXT = [
    event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hi"}),
    event("content_block_stop", index=0),
]
END = [
    event("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 6}),
    event("message_stop"),
]


async def test_complete_sends_the_key_and_version(
    anthropic: Make, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(ok("Hi"))
    response = await anthropic(version="2024-01-01").complete(MODEL, REQUEST, 5)
    assert (response.model, response.message) == (f"anthropic/{MODEL}", Message("assistant", "Hi"))
    assert (response.finish_reason, response.usage) == ("stop", Usage(5, 1))
    (sent,) = fake_upstream.requests
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == fingerprint(KEY)
    assert sent.headers["anthropic-version"] == "2024-01-01"
    assert "authorization" not in sent.headers
    assert sent.body == {
        "model": MODEL,
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "What is the secret recipe?"}],
    }


async def test_stream(anthropic: Make, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok("Hello world"))
    events = await collect(anthropic().stream(MODEL, REQUEST, 5))
    assert events == [TextDelta("Hello"), TextDelta(" world"), StreamEnd("stop", Usage(5, 2))]
    assert fake_upstream.requests[-1].body["stream"] is True


async def test_stream_with_a_tool_call(anthropic: Make, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=ToolCall("lookup", {"city": "Oslo"})))
    request = ChatRequest(model="auto", messages=REQUEST.messages, tools=(Tool("lookup"),))
    events = await collect(anthropic().stream(MODEL, request, 5))
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert (calls[0].index, calls[0].name) == (0, "lookup")
    assert orjson.loads("".join(c.arguments for c in calls)) == {"city": "Oslo"}
    assert events[-1] == StreamEnd("tool_calls", Usage(5, 3))


async def test_overloaded_before_the_first_event(
    anthropic: Make, fake_upstream: FakeUpstream
) -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake_upstream.script(status(529, body=body))
    events = anthropic().stream(MODEL, REQUEST, 5).__aiter__()
    with pytest.raises(UpstreamStatus, match="anthropic: HTTP 529: Overloaded") as caught:
        await asyncio.wait_for(events.__anext__(), 5)
    assert caught.value.retryable


async def test_error_event_mid_stream(anthropic: Make) -> None:
    error = event("error", error={"type": "overloaded_error", "message": "Overloaded"})
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.chunked([START, *TEXT, error]))
        events = anthropic(upstream.url).stream(MODEL, REQUEST, 5)
        assert await events.__anext__() == TextDelta("Hi")
        with pytest.raises(UpstreamStatus, match="HTTP 529: error inside the stream: Overloaded"):
            await events.__anext__()


async def test_stream_ended_without_message_stop_is_cut(anthropic: Make) -> None:
    async with raw.RawUpstream() as upstream:
        upstream.script(raw.chunked([START, *TEXT, END[0]]))
        with pytest.raises(UpstreamProtocol, match="stream cut after 1 events: the upstream"):
            await collect(anthropic(upstream.url).stream(MODEL, REQUEST, 5))


async def test_connection_lost_mid_stream_is_cut(
    anthropic: Make, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(cut(after_chunks=5))  # start, block start, ping, two words
    with pytest.raises(UpstreamProtocol, match="stream cut after 2 events: the connection"):
        await collect(anthropic().stream(MODEL, REQUEST, 5))


async def test_refused_key_names_its_variable(
    anthropic: Make, fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    body = {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    fake_upstream.script(status(401, body=body))
    chosen = anthropic(api_key=None, key_env="ANTHROPIC_API_KEY")
    with pytest.raises(UpstreamStatus) as caught:
        await chosen.complete(MODEL, REQUEST, 5)
    assert fake_upstream.requests[0].headers["x-api-key"] == fingerprint(KEY)
    assert str(caught.value) == (
        "anthropic: HTTP 401: invalid x-api-key; "
        "check that the environment variable ANTHROPIC_API_KEY holds a valid key"
    )


async def test_models(anthropic: Make, fake_upstream: FakeUpstream) -> None:
    assert await anthropic().models() == list(MODELS)  # in Anthropic's shape: see the fake
    sent = fake_upstream.requests[-1]
    assert (sent.path, sent.query) == ("/v1/models", "limit=1000")
    assert await anthropic(fake_upstream.url + "/nowhere").models() == []  # a 404
