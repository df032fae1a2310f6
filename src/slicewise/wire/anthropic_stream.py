"""Anthropic streaming: Messages events written to clients and read from upstreams.

The writer opens a content block when the kind of delta changes (text, or a new tool call) and
closes the previous one, so blocks arrive one after another as Anthropic sends them. A fragment
for a tool call whose block was already closed is still sent, to that block's index, rather
than lost; the SDKs accumulate by index. The reader numbers tool calls in the order their
blocks start, which is how OpenAI numbers them.
"""

from __future__ import annotations

from typing import Any

import orjson

from slicewise.chat import StreamEnd, StreamEvent, TextDelta, ToolCallDelta, Usage
from slicewise.errors import UpstreamStatus
from slicewise.wire import shape, stops

_DELTA = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":'
_STOP = b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n'
_MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""Anthropic's error types and the HTTP status each comes with."""


def sse(name: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class AnthropicStream:
    """Server-sent events for one streamed message, in the shape the Anthropic SDKs parse."""

    def __init__(self, request_id: str, model: str, input_tokens_estimate: int) -> None:
        self._id = request_id
        self._start: dict[str, Any] = {
            "id": request_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens_estimate, "output_tokens": 0},
        }
        self._blocks = 0
        self._open: int | None = None
        self._open_text = False
        self._prefix = b""
        self._tools: dict[int, int] = {}
        self._stop = "end_turn"
        self._usage: Usage | None = None

    def start(self) -> bytes:
        return sse("message_start", {"type": "message_start", "message": self._start})

    def event(self, ev: StreamEvent) -> bytes:
        if type(ev) is TextDelta:
            return self._text(ev.text)
        if type(ev) is ToolCallDelta:
            return self._tool(ev)
        assert type(ev) is StreamEnd
        self._stop = stops.TO_ANTHROPIC[ev.finish_reason]
        self._usage = ev.usage
        return self._close()

    def error(self, message: str, type: str) -> bytes:
        return sse("error", {"type": "error", "error": {"type": type, "message": message}})

    def finish(self) -> bytes:
        usage: dict[str, int] = {"output_tokens": 0}
        if self._usage is not None:
            usage = {"input_tokens": self._usage.input_tokens}
            usage["output_tokens"] = self._usage.output_tokens
        delta = {"stop_reason": self._stop, "stop_sequence": None}
        end = sse("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
        return self._close() + end + _MESSAGE_STOP

    def _text(self, text: str) -> bytes:
        if not text:
            return b""
        begun = b"" if self._open_text else self._begin({"type": "text", "text": ""})
        self._open_text = True
        return (
            begun + self._prefix + b'{"type":"text_delta","text":' + orjson.dumps(text) + b"}}\n\n"
        )

    def _tool(self, ev: ToolCallDelta) -> bytes:
        begun = b""
        block = self._tools.get(ev.index)
        if block is None:
            call_id = ev.id or f"toolu_{self._id}_{ev.index}"
            begun = self._begin(
                {"type": "tool_use", "id": call_id, "name": ev.name or "", "input": {}}
            )
            block = self._tools[ev.index] = self._blocks - 1
        if not ev.arguments:
            return begun
        prefix = self._prefix if block == self._open else _DELTA % block
        fragment = b'{"type":"input_json_delta","partial_json":' + orjson.dumps(ev.arguments)
        return begun + prefix + fragment + b"}}\n\n"

    def _begin(self, block: dict[str, Any]) -> bytes:
        closed = self._close()
        index = self._open = self._blocks
        self._blocks += 1
        self._prefix = _DELTA % index
        payload = {"type": "content_block_start", "index": index, "content_block": block}
        return closed + sse("content_block_start", payload)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open, self._open_text = self._open, None, False
        return _STOP % index


def input_tokens(usage: dict[str, Any], provider: str) -> int:
    """All input tokens of an Anthropic ``usage``: fresh, written to cache and read from it."""
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return sum(shape.count(usage.get(key), provider, f"usage.{key}") for key in keys)


class AnthropicStreamReader:
    """Turns an upstream's events (name and ``data:`` payload) into our stream events."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        """Whether ``message_stop`` arrived; a stream that ends before it was cut."""
        self._input = 0
        self._output = 0
        self._stop: str | None = None
        self._tools: dict[int, int] = {}

    def feed(self, event: str, data: bytes) -> list[StreamEvent]:
        if self.done or event == "ping":
            return []
        payload = shape.load_object(data, self.provider, f"{event} event")
        name = payload.get("type") if event == "message" else event
        if name == "content_block_delta":
            return self._delta(payload)
        if name == "content_block_start":
            return self._block(payload)
        if name == "message_start":
            self._usage(shape.obj(payload.get("message"), self.provider, "message").get("usage"))
        elif name == "message_delta":
            self._message_delta(payload)
        elif name == "message_stop":
            self.done = True
            usage = Usage(self._input, self._output)
            return [StreamEnd(stops.from_anthropic(self._stop), usage)]
        elif name == "error":
            raise _in_band(payload.get("error"), self.provider)
        return []

    def _delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        delta = shape.obj(payload.get("delta"), self.provider, "content_block_delta.delta")
        kind = delta.get("type")
        if kind == "text_delta":
            text = shape.text(delta.get("text"), self.provider, "text_delta.text")
            return [TextDelta(text)] if text else []
        if kind == "input_json_delta":
            part = shape.text(delta.get("partial_json"), self.provider, "partial_json")
            call = self._tools.get(payload.get("index", -1))
            if call is None:
                shape.bad(self.provider, "input_json_delta", "its block never started as tool_use")
            return [ToolCallDelta(call, arguments=part)] if part else []
        return []

    def _block(self, payload: dict[str, Any]) -> list[StreamEvent]:
        block = shape.obj(payload.get("content_block"), self.provider, "content_block")
        kind = block.get("type")
        if kind == "text":
            text = shape.opt_text(block.get("text"), self.provider, "content_block.text")
            return [TextDelta(text)] if text else []
        if kind != "tool_use":
            return []
        index = payload.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            shape.bad(self.provider, "content_block_start.index", f"expected an integer: {index!r}")
        call = self._tools[index] = len(self._tools)
        tool_input = block.get("input")
        return [
            ToolCallDelta(
                call,
                id=shape.text(block.get("id"), self.provider, "content_block.id"),
                name=shape.text(block.get("name"), self.provider, "content_block.name"),
                arguments=orjson.dumps(tool_input).decode() if tool_input else "",
            )
        ]

    def _message_delta(self, payload: dict[str, Any]) -> None:
        delta = shape.obj(payload.get("delta"), self.provider, "message_delta.delta")
        self._stop = shape.opt_text(delta.get("stop_reason"), self.provider, "stop_reason")
        self._usage(payload.get("usage"))

    def _usage(self, value: Any) -> None:
        """Counts are running totals: later ones replace earlier ones; absent ones are kept."""
        if value is None:
            return
        usage = shape.obj(value, self.provider, "usage")
        if usage.get("input_tokens") is not None:
            self._input = input_tokens(usage, self.provider)
        if usage.get("output_tokens") is not None:
            self._output = shape.count(usage["output_tokens"], self.provider, "output_tokens")


def _in_band(error: Any, provider: str) -> UpstreamStatus:
    """An ``error`` event the upstream sent inside a stream that had already begun."""
    fields: dict[str, Any] = error if isinstance(error, dict) else {}
    status = ERROR_STATUS.get(str(fields.get("type")), 500)
    message = fields.get("message") or fields.get("type") or "no message"
    return UpstreamStatus(provider, status, f"error inside the stream: {message}")
