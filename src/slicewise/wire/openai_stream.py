"""OpenAI streaming: ``chat.completion.chunk`` events written to clients and read from upstreams.

The writer runs once per token, so each chunk is a precomputed byte prefix and suffix around
the one part orjson encodes. The reader keeps the finish reason and the usage (which OpenAI
sends in a last chunk with empty ``choices``) until ``[DONE]``, then emits one ``StreamEnd``.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from slicewise.chat import StreamEnd, StreamEvent, TextDelta, ToolCallDelta, Usage
from slicewise.errors import UpstreamStatus
from slicewise.wire import shape, stops

DONE = b"data: [DONE]\n\n"


class OpenAIStream:
    """Server-sent events for one streamed completion, in the shape the OpenAI SDKs parse."""

    def __init__(self, request_id: str, model: str, created: int, include_usage: bool) -> None:
        fields = {"id": request_id, "object": "chat.completion.chunk", "created": created}
        head = b"data: " + orjson.dumps({**fields, "model": model})[:-1]
        self._delta = head + b',"choices":[{"index":0,"delta":'
        self._open = b',"logprobs":null,"finish_reason":null}]}\n\n'
        self._usage = head + b',"choices":[],"usage":'
        self._include_usage = include_usage
        self._id = request_id
        self._calls: set[int] = set()

    def start(self) -> bytes:
        return self._delta + b'{"role":"assistant","content":""}' + self._open

    def event(self, ev: StreamEvent) -> bytes:
        if type(ev) is TextDelta:
            if not ev.text:
                return b""
            return self._delta + b'{"content":' + orjson.dumps(ev.text) + b"}" + self._open
        if type(ev) is ToolCallDelta:
            return self._delta + orjson.dumps({"tool_calls": [self._call(ev)]}) + self._open
        assert type(ev) is StreamEnd
        return self._end(ev)

    def error(self, message: str, type: str) -> bytes:
        error = {"message": message, "type": type, "param": None, "code": None}
        return b"data: " + orjson.dumps({"error": error}) + b"\n\n"

    def finish(self) -> bytes:
        return DONE

    def _call(self, ev: ToolCallDelta) -> dict[str, Any]:
        """A fragment; the first of each call carries its id (made up if missing) and name."""
        if ev.index in self._calls:
            return {"index": ev.index, "function": {"arguments": ev.arguments}}
        self._calls.add(ev.index)
        function = {"name": ev.name or "", "arguments": ev.arguments}
        call_id = ev.id or f"call_{self._id}_{ev.index}"
        return {"index": ev.index, "id": call_id, "type": "function", "function": function}

    def _end(self, ev: StreamEnd) -> bytes:
        tail = b',"logprobs":null,"finish_reason":"' + ev.finish_reason.encode() + b'"}]}\n\n'
        chunk = self._delta + b"{}" + tail
        if self._include_usage and ev.usage is not None:
            chunk += self._usage + orjson.dumps(usage_body(ev.usage)) + b"}\n\n"
        return chunk


def usage_body(usage: Usage) -> dict[str, int]:
    total = usage.input_tokens + usage.output_tokens
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": total,
    }


def read_usage(value: Any, provider: str) -> Usage | None:
    """Our usage for an upstream ``usage`` object, or ``None`` when it sent none."""
    if value is None:
        return None
    obj = shape.obj(value, provider, "usage")
    return Usage(
        input_tokens=shape.count(obj.get("prompt_tokens"), provider, "usage.prompt_tokens"),
        output_tokens=shape.count(
            obj.get("completion_tokens"), provider, "usage.completion_tokens"
        ),
    )


class OpenAIStreamReader:
    """Turns an upstream's ``data:`` payloads into our stream events."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        """Whether ``[DONE]`` arrived; a stream that ends before it was cut."""
        self._finish: str | None = None
        self._calls: set[int] = set()
        self._usage: Usage | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        if self.done:
            return []
        if data == b"[DONE]":
            self.done = True
            reason = stops.from_openai(self._finish, bool(self._calls))
            return [StreamEnd(reason, self._usage)]
        chunk = shape.load_object(data, self.provider, "stream chunk")
        if chunk.get("error") is not None:
            raise _in_band(chunk["error"], self.provider)
        if chunk.get("usage") is not None:
            self._usage = read_usage(chunk["usage"], self.provider)
        events: list[StreamEvent] = []
        choices = chunk.get("choices")
        for choice in [] if choices is None else shape.array(choices, self.provider, "choices"):
            self._choice(shape.obj(choice, self.provider, "choices[]"), events)
        return events

    def _choice(self, choice: dict[str, Any], events: list[StreamEvent]) -> None:
        if choice.get("index", 0) != 0:
            return
        if choice.get("finish_reason") is not None:
            self._finish = shape.text(choice["finish_reason"], self.provider, "finish_reason")
        delta = choice.get("delta")
        if not delta:
            return
        delta = shape.obj(delta, self.provider, "choices[0].delta")
        content = delta.get("content")
        if content:
            events.append(TextDelta(shape.text(content, self.provider, "delta.content")))
        calls = shape.array(delta.get("tool_calls") or [], self.provider, "delta.tool_calls")
        for i, call in enumerate(calls):
            events.append(self._call(shape.obj(call, self.provider, "delta.tool_calls[]"), i))

    def _call(self, call: dict[str, Any], position: int) -> ToolCallDelta:
        """One fragment; a call's id and name are passed on with its first fragment only.

        Some servers repeat them on every fragment, and clients append what they receive.
        """
        function = shape.obj(call.get("function") or {}, self.provider, "tool_calls[].function")
        arguments = function.get("arguments") or ""
        if not isinstance(arguments, str):
            arguments = orjson.dumps(arguments).decode()
        index = call.get("index", position)
        if isinstance(index, bool) or not isinstance(index, int):
            shape.bad(self.provider, "tool_calls[].index", f"expected an integer, got {index!r}")
        if index in self._calls:
            return ToolCallDelta(index, arguments=arguments)
        self._calls.add(index)
        call_id = shape.opt_text(call.get("id"), self.provider, "tool_calls[].id")
        name = shape.opt_text(function.get("name"), self.provider, "tool_calls[].function.name")
        return ToolCallDelta(index, call_id or new_call_id(), name or "", arguments)


def new_call_id() -> str:
    """An id for a tool call whose upstream gave none."""
    return f"call_{uuid.uuid4().hex[:24]}"


def _in_band(error: Any, provider: str) -> UpstreamStatus:
    """An error the upstream sent inside a stream that had already begun."""
    message = error.get("message") if isinstance(error, dict) else error
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else 500
    return UpstreamStatus(provider, status, f"error inside the stream: {message}")
