"""The fake upstream as a raw ASGI app: routes, recording, and each behaviour played on the wire.

Routes: ``POST /v1/chat/completions`` (OpenAI), ``POST /v1/messages`` (Anthropic),
``GET /v1/models`` and ``GET /v1/models/{id}`` (Anthropic's shape when the request has an
``anthropic-version`` header, as the Anthropic SDK always sends; OpenAI's otherwise), and the
batch routes of ``tests.fakes.batches``. Anything else is a 404 in OpenAI's error shape.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson

from tests.fakes.answer import answer
from tests.fakes.asgi import Receive, Received, Reply, Send, read
from tests.fakes.batches import Batches
from tests.fakes.script import Behaviour, Cut, Delay, Hang, Malformed, Ok, Script, Stall, Status
from tests.fakes.wire import ANTHROPIC, OPENAI, Wire

SSE = "text/event-stream"
CHAT = {"/v1/chat/completions": OPENAI, "/v1/messages": ANTHROPIC}


class FakeApp:
    """State and behaviour of the fake; ``tests.fakes.upstream.FakeUpstream`` serves it."""

    def __init__(self, models: Sequence[str], latency_ms: float = 0.0, record: bool = True) -> None:
        self.models = list(models)
        self.latency_ms = self._initial_latency_ms = latency_ms
        self.record = record
        self.script = Script()
        self.requests: list[Received] = []
        self.calls: Counter[str] = Counter()
        self.batches = Batches(self.settle)
        self.closing = asyncio.Event()

    def reset(self) -> None:
        self.latency_ms = self._initial_latency_ms
        self.script.clear()
        self.script.default = Ok()
        self.requests.clear()
        self.calls.clear()
        self.batches.clear()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request, raw = await read(scope, receive)
        if self.record:
            self.requests.append(request)
        reply = Reply(receive, send, self.closing)
        wire = CHAT.get(request.path)
        if wire is not None and request.method == "POST":
            await self.chat(request, wire, reply)
        elif request.method == "GET" and request.path.startswith("/v1/models"):
            await self.list_models(request, reply)
        elif not await self.batches.handle(request, raw, reply):
            await reply.json(404, OPENAI.error(404, f"no route {request.method} {request.path}"))

    async def chat(self, request: Received, wire: Wire, reply: Reply) -> None:
        model = request.model
        if model is None:
            await reply.json(400, wire.error(400, "the body must be JSON with a string 'model'"))
            return
        self.calls[model] += 1
        await reply.wait(self.latency_ms / 1000)
        await self.play(self.script.next(model), request, wire, reply)

    async def play(self, behaviour: Behaviour, request: Received, wire: Wire, reply: Reply) -> None:
        match behaviour:
            case Delay(seconds, then):
                await reply.wait(seconds)
                await self.play(then, request, wire, reply)
            case Status():
                await _status(behaviour, wire, reply)
            case Hang():
                await reply.hang()
            case Malformed():
                await _malformed(request, wire, reply)
            case Ok() | Cut() | Stall():
                await _answer(behaviour, request, wire, reply)

    def settle(self, wire: Wire, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A batch item's status and body, as a non-streamed call would have answered.

        Error statuses play as scripted; every other behaviour answers at once.
        """
        model = str(body.get("model"))
        self.calls[model] += 1
        behaviour = self.script.next(model)
        while isinstance(behaviour, Delay):
            behaviour = behaviour.then
        if isinstance(behaviour, Status):
            return behaviour.code, wire.error(behaviour.code, f"scripted {behaviour.code}")
        ok = behaviour if isinstance(behaviour, Ok) else Ok()
        return 200, wire.body(model, answer(ok, body))

    async def list_models(self, request: Received, reply: Reply) -> None:
        wire = ANTHROPIC if "anthropic-version" in request.headers else OPENAI
        one = request.path.removeprefix("/v1/models").strip("/")
        if not one:
            await reply.json(200, wire.models(self.models))
        elif one in self.models:
            await reply.json(200, wire.models([one])["data"][0])
        else:
            await reply.json(404, wire.error(404, f"model {one!r} not found"))


async def _status(behaviour: Status, wire: Wire, reply: Reply) -> None:
    headers = []
    if behaviour.retry_after is not None:
        headers.append(("retry-after", f"{behaviour.retry_after:g}"))
    body = behaviour.body
    if body is None:
        body = wire.error(behaviour.code, f"scripted status {behaviour.code}")
    if isinstance(body, str | bytes):
        raw = body.encode() if isinstance(body, str) else body
        await reply.whole(behaviour.code, raw, "text/plain", headers)
    else:
        await reply.json(behaviour.code, body, headers)


async def _malformed(request: Received, wire: Wire, reply: Reply) -> None:
    if request.stream:
        await reply.whole(200, wire.broken_frame + wire.done_frame, SSE)
    else:
        await reply.whole(200, b"<html>502 Bad Gateway, says a proxy</html>", "application/json")


async def _answer(behaviour: Ok | Cut | Stall, request: Received, wire: Wire, reply: Reply) -> None:
    ok = behaviour if isinstance(behaviour, Ok) else Ok()
    model = str(request.model)
    result = answer(ok, request.body)
    if request.stream:
        parts = wire.frames(model, result, request.body)
        await reply.start(200, SSE)
    else:
        whole = orjson.dumps(wire.body(model, result))
        parts = [whole[: len(whole) // 2], whole[len(whole) // 2 :]]
        await reply.start(200, "application/json", len(whole))
    if isinstance(behaviour, Ok):
        await reply.end(b"".join(parts))
        return
    sent = min(behaviour.after_chunks, len(parts) - 1) if request.stream else 1
    for part in parts[:sent]:
        await reply.part(part)
    if isinstance(behaviour, Cut):
        return  # the response is left incomplete: the server closes the connection
    await reply.wait(behaviour.seconds)
    for part in parts[sent:]:
        await reply.part(part)
    await reply.end()
