"""A scripted upstream on httpx2's MockTransport, for the provider tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import orjson

from slicewise.chat import ChatRequest, Message, StreamEvent

REQUEST = ChatRequest(model="auto", messages=(Message("user", "What is the secret recipe?"),))
KEY = "sk-test-abcdef0123456789"


Answer = Callable[[httpx2.Request], httpx2.Response]


@dataclass
class Upstream:
    """A scripted upstream: each request gets the next answer; requests are kept."""

    answers: list[Answer]
    requests: list[httpx2.Request] = field(default_factory=list)

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.answers.pop(0)(request)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))

    def body(self, i: int = -1) -> Any:
        return orjson.loads(self.requests[i].content)


def answer(
    status: int = 200,
    body: bytes | Iterable[bytes] = b"",
    headers: dict[str, str] | None = None,
    fail: Exception | None = None,
    stream: bool = False,
) -> Answer:
    """A response: ``body`` whole, or chunk by chunk (then ``fail`` raised, if given)."""
    kind = "text/event-stream" if stream else "application/json"

    def respond(request: httpx2.Request) -> httpx2.Response:
        if fail is not None and isinstance(body, bytes | bytearray):
            raise fail
        content = body if isinstance(body, bytes) else _chunks(body, fail)
        return httpx2.Response(
            status, headers={"content-type": kind, **(headers or {})}, content=content
        )

    return respond


async def _chunks(parts: Iterable[bytes], fail: Exception | None) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail is not None:
        raise fail


def json_answer(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return answer(status, orjson.dumps(obj), headers)


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]
