"""The load client: the request each target gets, a closed loop and an open one.

``load`` drives one target on ``concurrency`` connections (uvloop + httptools, nothing else on
the path, so the client costs little and its CPU is not in the server's); ``probe`` is one
blocking call, to check an answer and to wait for a server to be ready. ``paced`` sends at a
fixed rate whatever the answers do (an open loop), on as many keep-alive connections as are
busy; sending never waits for an answer, so a stall shows in every request it delays.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

import httptools

KEY = "sk-bench-" + "5eed" * 8
"""LiteLLM refuses to start without a master key; every target gets the same header."""
PROMPT = (
    "Our support team keeps answering the same billing questions by hand every morning, and "
    "the queue grows faster than we can read it. Could you suggest a short plan to sort the "
    "incoming tickets by topic, send the easy ones a template reply, and flag anything about "
    "refunds, outages or security for a person to answer the same day? Please keep it "
    "practical: list the steps in order, say which tools we would need and what they cost, "
    "point out the risks of answering customers automatically, and estimate roughly how "
    "many hours each step could save us over a normal working week."
)
"""About 100 words: the fake echoes it word by word, and ``max_tokens`` cuts the echo."""
CHUNKS = {"stream": 20, "stream_long": 80}
"""SSE data chunks per answer: a role chunk, max_tokens words, a finish chunk ([DONE] aside)."""


def body(model: str, mode: str) -> bytes:
    stream = mode != "plain"
    cut = CHUNKS.get(mode, CHUNKS["stream"]) - 2
    message = {"role": "user", "content": PROMPT}
    return json.dumps(
        {"model": model, "messages": [message], "max_tokens": cut, "stream": stream}
    ).encode()


def request_bytes(port: int, model: str, mode: str) -> bytes:
    payload = body(model, mode)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def probe(port: int, model: str, mode: str) -> tuple[int, int, dict[str, str]]:
    """One blocking call: its status, its SSE data chunks (without [DONE]), its headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
        conn.request("POST", "/v1/chat/completions", body(model, mode), headers)
        response = conn.getresponse()
        text = response.read().decode()
        lines = [x for x in text.splitlines() if x.startswith("data:") and "[DONE]" not in x]
        return response.status, len(lines), dict(response.getheaders())
    finally:
        conn.close()


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``exchange`` sends a request and times its response."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.first = self.ended = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_body(self, chunk: bytes) -> None:
        if not self.first:
            self.first = time.perf_counter()

    def on_message_complete(self) -> None:
        self.ended = time.perf_counter()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def exchange(self, payload: bytes) -> tuple[int, float, float]:
        """Status, seconds to the end of the response, seconds to its first body bytes."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.first = 0.0
        sent = time.perf_counter()
        self.transport.write(payload)
        status = await self.waiter
        return status, self.ended - sent, (self.first or self.ended) - sent


async def connect(port: int) -> Connection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Connection, "127.0.0.1", port)
    return conn


@dataclass
class Load:
    latency: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0


async def load(port: int, payload: bytes, concurrency: int, seconds: float) -> Load:
    """Closed loop on ``concurrency`` connections; stop issuing after ``seconds``, then drain."""
    result = Load()
    conns = [await connect(port) for _ in range(concurrency)]
    started = time.perf_counter()
    stop = started + seconds

    async def worker(i: int) -> None:
        while time.perf_counter() < stop:
            try:
                status, total, first = await conns[i].exchange(payload)
            except (OSError, httptools.HttpParserError) as exc:
                result.errors[type(exc).__name__] += 1
                conns[i] = await connect(port)
                continue
            if status != 200:
                result.errors[str(status)] += 1
            result.latency.append(total)
            result.first.append(first)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    result.wall = time.perf_counter() - started
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return result


async def paced(port: int, payload: bytes, rate: float, seconds: float) -> Load:
    """Open loop: a request every ``1 / rate`` seconds for ``seconds``, then drain."""
    result = Load()
    idle = [await connect(port) for _ in range(4)]
    started = time.perf_counter()
    count = int(rate * seconds)

    async def one() -> None:
        conn = idle.pop() if idle else await connect(port)
        try:
            status, total, _ = await conn.exchange(payload)
        except (OSError, httptools.HttpParserError) as exc:
            result.errors[type(exc).__name__] += 1
            return
        if status != 200:
            result.errors[str(status)] += 1
        result.latency.append(total)
        idle.append(conn)

    tasks = []
    for i in range(count):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.gather(*tasks)
    result.wall = time.perf_counter() - started
    for conn in idle:
        if conn.transport is not None:
            conn.transport.close()
    return result
