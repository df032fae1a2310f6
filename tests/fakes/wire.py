"""The two wire formats the fake speaks, as bytes: whole bodies, stream frames, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from tests.fakes import anthropic_wire, openai_wire
from tests.fakes.answer import Answer


@dataclass(frozen=True)
class Wire:
    name: str
    body: Callable[[str, Answer], dict[str, Any]]
    frames: Callable[[str, Answer, dict[str, Any]], list[bytes]]
    """Every frame of a stream, the terminal one (``[DONE]``, ``message_stop``) last."""
    error: Callable[[int, str], dict[str, Any]]
    models: Callable[[list[str]], dict[str, Any]]
    broken_frame: bytes
    done_frame: bytes


def _openai_frames(model: str, answer: Answer, request: dict[str, Any]) -> list[bytes]:
    options = request.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    chunks = openai_wire.chunks(model, answer, include_usage)
    return [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks] + [OPENAI_DONE]


def _anthropic_frames(model: str, answer: Answer, request: dict[str, Any]) -> list[bytes]:
    return [sse(name, data) for name, data in anthropic_wire.events(model, answer)]


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


OPENAI_DONE = b"data: [DONE]\n\n"

OPENAI = Wire(
    name="openai",
    body=openai_wire.completion,
    frames=_openai_frames,
    error=openai_wire.error,
    models=openai_wire.models,
    broken_frame=b'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n',
    done_frame=OPENAI_DONE,
)

ANTHROPIC = Wire(
    name="anthropic",
    body=anthropic_wire.message,
    frames=_anthropic_frames,
    error=anthropic_wire.error,
    models=anthropic_wire.models,
    broken_frame=b'event: message_start\ndata: {"type": "message_start", "mess\n\n',
    done_frame=sse("message_stop", {"type": "message_stop"}),
)
