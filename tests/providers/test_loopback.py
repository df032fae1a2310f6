"""The adapters over real sockets: a minimal HTTP/1.1 server on 127.0.0.1.

It checks what a mock transport cannot: connections are kept alive and pooled, and a stream
whose first event was awaited in another task (as the dispatcher does with ``wait_for``) can
be read on in this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from slicewise.chat import StreamEnd, TextDelta, Usage
from slicewise.providers.openai import OpenAICompatible
from tests.providers.scripted import REQUEST

pytestmark = pytest.mark.anyio

EVENTS = [
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n',
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n',
    b"data: [DONE]\n\n",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Server:
    """Answers every POST with ``EVENTS``, chunk by chunk, and counts connections."""

    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await self._one(reader, writer):
                pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
        if not head:
            return False
        length = next(
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for event in EVENTS:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            await asyncio.sleep(0.001)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


@asynccontextmanager
async def serving() -> AsyncIterator[tuple[Server, str]]:
    server = Server()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}/v1"
    finally:
        listener.close()
        await listener.wait_closed()


async def test_streams_reuse_one_kept_alive_connection() -> None:
    async with serving() as (server, url):
        chosen = OpenAICompatible("vllm", url)
        for _ in range(3):
            events = chosen.stream("m", REQUEST, 5).__aiter__()
            first = await asyncio.wait_for(events.__anext__(), 5)
            rest = [event async for event in events]
            assert [first, *rest] == [
                TextDelta("Hel"),
                TextDelta("lo"),
                StreamEnd("stop", Usage(3, 2)),
            ]
        await chosen.aclose()
    assert server.connections == 1


async def test_stopping_at_the_last_event_still_frees_the_connection() -> None:
    async with serving() as (server, url):
        chosen = OpenAICompatible("vllm", url)
        for _ in range(3):
            events = chosen.stream("m", REQUEST, 5).__aiter__()
            while not isinstance(await events.__anext__(), StreamEnd):
                pass
            await events.aclose()  # type: ignore[attr-defined]
        await chosen.aclose()
    assert server.connections == 1
