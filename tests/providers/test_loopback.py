"""Connections: kept alive and pooled, one session per provider, made in the running loop.

Also that a stream whose first event was awaited in another task (as the dispatcher does with
``wait_for``) can be read on in this one.
"""

from __future__ import annotations

import asyncio

import pytest

from slicewise.chat import StreamEnd, TextDelta, Usage
from slicewise.providers.http import CONNECTIONS
from slicewise.providers.openai import OpenAICompatible
from tests.fakes.upstream import FakeUpstream, delay
from tests.providers import raw
from tests.providers.scripted import REQUEST

pytestmark = pytest.mark.anyio

EVENTS = [TextDelta("Hel"), TextDelta("lo"), StreamEnd("stop", Usage(3, 2))]
COMPLETION = {
    "id": "chatcmpl-1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
}


async def test_streams_reuse_one_kept_alive_connection() -> None:
    async with raw.RawUpstream() as upstream:
        chosen = OpenAICompatible("vllm", upstream.url + "/v1")
        for _ in range(3):
            events = chosen.stream("m", REQUEST, 5).__aiter__()
            first = await asyncio.wait_for(events.__anext__(), 5)
            rest = [event async for event in events]
            assert [first, *rest] == EVENTS
        await chosen.aclose()
    assert upstream.connections == 1


async def test_stopping_at_the_last_event_still_frees_the_connection() -> None:
    async with raw.RawUpstream() as upstream:
        chosen = OpenAICompatible("vllm", upstream.url + "/v1")
        for _ in range(3):
            events = chosen.stream("m", REQUEST, 5).__aiter__()
            while not isinstance(await events.__anext__(), StreamEnd):
                pass
            await events.aclose()  # type: ignore[attr-defined]
        await chosen.aclose()
    assert upstream.connections == 1


async def test_calls_reuse_one_kept_alive_connection() -> None:
    async with raw.RawUpstream() as upstream:
        upstream.script(*[raw.json(200, COMPLETION)] * 3)
        chosen = OpenAICompatible("vllm", upstream.url + "/v1")
        for _ in range(3):
            assert (await chosen.complete("m", REQUEST, 5)).message.content == "Hi"
        await chosen.aclose()
    assert upstream.connections == 1


async def test_many_calls_at_once_share_the_pool(fake_upstream: FakeUpstream) -> None:
    fake_upstream.default = delay(0.05)
    chosen = OpenAICompatible("fake", fake_upstream.url + "/v1")
    try:
        answers = await asyncio.gather(
            *(chosen.complete("gpt-4o-mini", REQUEST, 10) for _ in range(64))
        )
        assert {a.message.content for a in answers} == {"What is the secret recipe?"}
        session = chosen._http.session
        assert session.connector is not None and session.connector.limit == CONNECTIONS
    finally:
        await chosen.aclose()
    assert session.closed
