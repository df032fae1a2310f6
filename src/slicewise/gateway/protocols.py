"""The two client protocols the gateway speaks, as one small table of functions each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slicewise.chat import ChatRequest, ChatResponse
from slicewise.wire import anthropic as anthropic_wire
from slicewise.wire import openai as openai_wire


@dataclass(frozen=True)
class Protocol:
    name: str
    endpoint: str
    parse: Callable[[bytes], ChatRequest]
    render: Callable[[ChatResponse, str, int], bytes]
    stream: Callable[[ChatRequest, str, str, int, int], Any]
    """(request, request_id, model, created, input_tokens) -> a stream writer."""
    error_body: Callable[..., bytes]


def _openai_stream(
    request: ChatRequest, request_id: str, model: str, created: int, input_tokens: int
) -> Any:
    return openai_wire.OpenAIStream(request_id, model, created, request.include_usage)


def _anthropic_stream(
    request: ChatRequest, request_id: str, model: str, created: int, input_tokens: int
) -> Any:
    return anthropic_wire.AnthropicStream(request_id, model, input_tokens)


OPENAI = Protocol(
    "openai",
    "openai.chat",
    openai_wire.parse_request,
    openai_wire.render_response,
    _openai_stream,
    openai_wire.error_body,
)
ANTHROPIC = Protocol(
    "anthropic",
    "anthropic.messages",
    anthropic_wire.parse_request,
    anthropic_wire.render_response,
    _anthropic_stream,
    anthropic_wire.error_body,
)
