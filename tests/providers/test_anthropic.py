from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from slicewise.chat import ChatResponse, Message, StreamEnd, TextDelta, ToolCallDelta, Usage
from slicewise.errors import UpstreamProtocol, UpstreamStatus
from slicewise.providers.anthropic import Anthropic
from tests.providers.scripted import KEY, REQUEST, Upstream, answer, collect, json_answer

pytestmark = pytest.mark.anyio

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "Hi"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 5, "output_tokens": 2},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def provider(upstream: Upstream, **options: Any) -> Anthropic:
    options.setdefault("api_key", KEY)
    return Anthropic("anthropic", "https://api.test/", client=upstream.client(), **options)


def event(name: str, **payload: Any) -> bytes:
    return (
        b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **payload}) + b"\n\n"
    )


START = event(
    "message_start",
    message={**MESSAGE, "content": [], "usage": {"input_tokens": 5, "output_tokens": 1}},
)
TEXT = [
    event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hi"}),
    event("content_block_stop", index=0),
]
TOOL = [
    event(
        "content_block_start",
        index=1,
        content_block={"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
    ),
    event(
        "content_block_delta",
        index=1,
        delta={"type": "input_json_delta", "partial_json": '{"a": 1}'},
    ),
    event("content_block_stop", index=1),
]
END = [
    event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 6}),
    event("message_stop"),
]


async def test_complete_sends_the_key_and_version() -> None:
    upstream = Upstream([json_answer(MESSAGE)])
    response = await provider(upstream, version="2024-01-01").complete(
        "claude-haiku-4-5", REQUEST, 5
    )
    assert response == ChatResponse(
        "msg_1", "anthropic/claude-haiku-4-5", Message("assistant", "Hi"), "stop", Usage(5, 2)
    )
    sent = upstream.requests[0]
    assert str(sent.url) == "https://api.test/v1/messages"
    assert (sent.headers["x-api-key"], sent.headers["anthropic-version"]) == (KEY, "2024-01-01")
    assert "authorization" not in sent.headers
    assert upstream.body() == {
        "model": "claude-haiku-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "What is the secret recipe?"}],
    }


async def test_stream() -> None:
    upstream = Upstream([answer(body=[START, event("ping"), *TEXT, *TOOL, *END], stream=True)])
    events = await collect(provider(upstream).stream("claude", REQUEST, 5))
    assert events == [
        TextDelta("Hi"),
        ToolCallDelta(0, id="toolu_1", name="f"),
        ToolCallDelta(0, arguments='{"a": 1}'),
        StreamEnd("tool_calls", Usage(5, 6)),
    ]
    assert upstream.body()["stream"] is True


async def test_overloaded_before_the_first_event() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    upstream = Upstream([json_answer(body, 529)])
    events = provider(upstream).stream("claude", REQUEST, 5).__aiter__()
    with pytest.raises(UpstreamStatus, match="anthropic: HTTP 529: Overloaded") as caught:
        await asyncio.wait_for(events.__anext__(), 5)
    assert caught.value.retryable


async def test_error_event_mid_stream() -> None:
    error = event("error", error={"type": "overloaded_error", "message": "Overloaded"})
    upstream = Upstream([answer(body=[START, *TEXT, error], stream=True)])
    events = provider(upstream).stream("claude", REQUEST, 5)
    assert await events.__anext__() == TextDelta("Hi")
    with pytest.raises(UpstreamStatus, match="HTTP 529: error inside the stream: Overloaded"):
        await events.__anext__()


async def test_stream_without_message_stop_is_cut() -> None:
    upstream = Upstream([answer(body=[START, *TEXT, END[0]], stream=True)])
    with pytest.raises(UpstreamProtocol, match="stream cut after 1 events"):
        await collect(provider(upstream).stream("claude", REQUEST, 5))


async def test_refused_key_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    body = {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    upstream = Upstream([json_answer(body, 401)])
    chosen = Anthropic(
        "anthropic", "https://api.test", key_env="ANTHROPIC_API_KEY", client=upstream.client()
    )
    with pytest.raises(UpstreamStatus) as caught:
        await chosen.complete("claude", REQUEST, 5)
    assert upstream.requests[0].headers["x-api-key"] == KEY
    assert str(caught.value) == (
        "anthropic: HTTP 401: invalid x-api-key; "
        "check that the environment variable ANTHROPIC_API_KEY holds a valid key"
    )


async def test_models() -> None:
    listing = {"data": [{"type": "model", "id": "claude-haiku-4-5"}], "has_more": False}
    upstream = Upstream([json_answer(listing), answer(404, b"")])
    chosen = provider(upstream)
    assert await chosen.models() == ["claude-haiku-4-5"]
    assert str(upstream.requests[0].url) == "https://api.test/v1/models?limit=1000"
    assert await chosen.models() == []
