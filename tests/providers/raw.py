"""A bare HTTP/1.1 server on 127.0.0.1, for what the scripted fake upstream cannot send.

The fake (``tests.fakes.upstream``) plays whole behaviours in the wire formats; this one writes
scripted bytes, so a test can send a header the fake never sends (``retry-after-ms``, a
``Retry-After`` date), a body in one-byte chunks, a stream that ends cleanly without its last
event, or close a connection at a chosen point. It also counts connections, to show that calls
share one kept-alive connection::

    async with RawUpstream() as raw:
        raw.script(whole(429, b"{}", {"retry-after-ms": "1500"}))
        ...  # point a provider at raw.url + "/v1"
        assert raw.connections == 1

A request with nothing scripted for it gets ``DEFAULT``: a short OpenAI stream.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from types import TracebackType

import orjson

OPENAI_EVENTS = (
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n',
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n',
    b"data: [DONE]\n\n",
)


@dataclass(frozen=True)
class Reply:
    """Bytes written one part at a time; then the connection is kept, or closed."""

    parts: tuple[bytes, ...]
    close: bool = False


def whole(
    status: int, body: bytes, headers: dict[str, str] | None = None, kind: str = "application/json"
) -> Reply:
    """A response with a ``content-length``."""
    fields = {"content-type": kind, **(headers or {}), "content-length": str(len(body))}
    return Reply((_head(status, fields) + body,))


def json(status: int, obj: object, headers: dict[str, str] | None = None) -> Reply:
    return whole(status, orjson.dumps(obj), headers)


def chunked(
    parts: tuple[bytes, ...] | list[bytes],
    kind: str = "text/event-stream",
    *,
    finish: bool = True,
    close: bool = False,
) -> Reply:
    """A chunked 200, one chunk per part; without ``finish`` the closing chunk is not sent."""
    head = _head(200, {"content-type": kind, "transfer-encoding": "chunked"})
    frames = [b"%x\r\n%s\r\n" % (len(part), part) for part in parts if part]
    return Reply((head, *frames, *([b"0\r\n\r\n"] if finish else [])), close)


def hang_up() -> Reply:
    """Close the connection without answering."""
    return Reply((), close=True)


def _head(status: int, fields: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Scripted"] + [f"{k}: {v}" for k, v in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


DEFAULT = chunked(OPENAI_EVENTS)


class RawUpstream:
    """The server; see the module docstring."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        """Each request's head, as received."""
        self.url = ""
        self._replies: deque[Reply] = deque()
        self._server: asyncio.Server | None = None

    def script(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    async def __aenter__(self) -> RawUpstream:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away, as some tests make it do
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; whether the connection stays open for another."""
        if reader.at_eof():
            return False
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        length = [
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        ]
        await reader.readexactly(length[0] if length else 0)
        reply = self._replies.popleft() if self._replies else DEFAULT
        for part in reply.parts:
            writer.write(part)
            await writer.drain()
        return not reply.close
