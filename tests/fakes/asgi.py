"""The few ASGI pieces the fake needs: types, the request as read, and one reply on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = Iterable[tuple[str, str]]

JSON = "application/json"
SECRET_WORDS = ("auth", "key", "token", "secret", "cookie")


def fingerprint(secret: str) -> str:
    """What ``Received.headers`` shows instead of a credential's value (a header whose name
    says auth, key, token, secret or cookie)."""
    return "redacted:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Received:
    """One request as the fake received it; credential values are replaced by a fingerprint."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    """The JSON body, or ``None`` when there is none or it is not JSON (see ``size``)."""
    size: int

    @property
    def model(self) -> str | None:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True


async def read(scope: Message, receive: Receive) -> tuple[Received, bytes]:
    raw = bytearray()
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    for name, value in headers.items():
        if any(word in name for word in SECRET_WORDS):
            headers[name] = fingerprint(value)
    received = Received(
        scope["method"],
        scope["path"],
        scope["query_string"].decode("latin-1"),
        headers,
        _json(bytes(raw), headers),
        len(raw),
    )
    return received, bytes(raw)


def _json(raw: bytes, headers: dict[str, str]) -> Any:
    if not raw or headers.get("content-type", "").startswith("multipart/"):
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


class Reply:
    """One response: whole, or started and sent in parts; waits end early when the fake stops."""

    def __init__(self, receive: Receive, send: Send, closing: asyncio.Event) -> None:
        self._receive = receive
        self._send = send
        self._closing = closing

    async def whole(
        self, status: int, body: bytes, content_type: str = JSON, headers: Headers = ()
    ) -> None:
        await self.start(status, content_type, len(body), headers)
        await self._send({"type": "http.response.body", "body": body})

    async def json(self, status: int, data: Any, headers: Headers = ()) -> None:
        await self.whole(status, orjson.dumps(data), JSON, headers)

    async def start(
        self, status: int, content_type: str, length: int | None = None, headers: Headers = ()
    ) -> None:
        """Send status and headers; without ``length`` the body goes chunked."""
        raw = [(b"content-type", content_type.encode())]
        raw += [(k.encode(), v.encode()) for k, v in headers]
        if length is not None:
            raw.append((b"content-length", str(length).encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})

    async def part(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self, data: bytes = b"") -> None:
        await self._send({"type": "http.response.body", "body": data})

    async def wait(self, seconds: float) -> None:
        if seconds > 0 and not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def hang(self) -> None:
        """Answer nothing until the client hangs up (then nothing) or the fake stops (a 503)."""
        gone = asyncio.ensure_future(self._disconnect())
        closing = asyncio.ensure_future(self._closing.wait())
        done, _ = await asyncio.wait((gone, closing), return_when=asyncio.FIRST_COMPLETED)
        for task in (gone, closing):
            task.cancel()
        await asyncio.gather(gone, closing, return_exceptions=True)
        if gone not in done:
            await self.json(503, {"error": {"message": "the fake upstream is stopping"}})

    async def _disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
