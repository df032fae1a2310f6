"""The two client protocols the gateway speaks, as one small table of functions each."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from slicewise.chat import ChatRequest, ChatResponse
from slicewise.gateway.catalog import Catalog
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


def models_body(catalog: Catalog, created: int) -> bytes:
    """``GET /v1/models``: routes, aliases and models, in one list both SDKs read."""
    entries = [_entry(name, created, "slicewise") for name in catalog.routes]
    entries += [_entry(name, created, "slicewise") for name in catalog.registry.aliases]
    entries += [_entry(name, created, m.provider) for name, m in catalog.models.items()]
    return orjson.dumps(
        {
            "object": "list",
            "data": entries,
            "has_more": False,
            "first_id": entries[0]["id"] if entries else None,
            "last_id": entries[-1]["id"] if entries else None,
        }
    )


def _entry(name: str, created: int, owner: str) -> dict[str, Any]:
    # one entry readable by both SDKs: OpenAI's model object and Anthropic's ModelInfo
    return {
        "id": name,
        "object": "model",
        "created": created,
        "owned_by": owner,
        "type": "model",
        "display_name": name,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
    }
