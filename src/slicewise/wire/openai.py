"""The OpenAI Chat Completions format, both sides.

Client side (our ``/v1/chat/completions``): ``parse_request``, ``render_response``,
``OpenAIStream`` and ``error_body``. Upstream side (any OpenAI-compatible endpoint):
``build_request``, ``parse_response`` and ``OpenAIStreamReader``.

Going upstream, ``metadata`` stays with us (it is for the ledger, and most compatible servers
reject it); a ``json_schema`` format loses OpenAI's ``strict`` flag, which ``ResponseFormat``
has no place for, so upstreams apply their default; and the token limit goes out as
``max_tokens`` unless the provider asks for ``max_completion_tokens`` (OpenAI's reasoning models
refuse ``max_tokens``; many other servers know only that one).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from slicewise.chat import (
    ChatRequest,
    ChatResponse,
    Message,
    ResponseFormat,
    Tool,
    ToolCall,
    ToolChoice,
)
from slicewise.wire import shape, stops
from slicewise.wire.openai_request import parse_request
from slicewise.wire.openai_stream import (
    OpenAIStream,
    OpenAIStreamReader,
    new_call_id,
    read_usage,
    usage_body,
)

__all__ = [
    "OpenAIStream",
    "OpenAIStreamReader",
    "build_request",
    "error_body",
    "parse_request",
    "parse_response",
    "render_response",
]

TokenField = Literal["max_tokens", "max_completion_tokens"]


def render_response(resp: ChatResponse, request_id: str, created: int) -> bytes:
    """A ``chat.completion`` object; ``usage`` is left out when the upstream gave none."""
    choice = {
        "index": 0,
        "message": _message_body(resp.message),
        "logprobs": None,
        "finish_reason": resp.finish_reason,
    }
    body: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion",
        "created": created,
        "model": resp.model,
        "choices": [choice],
    }
    if resp.usage is not None:
        body["usage"] = usage_body(resp.usage)
    return orjson.dumps(body)


def error_body(message: str, type: str, param: str | None = None, code: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type, "param": param, "code": code}})


def build_request(
    model: str, req: ChatRequest, *, token_field: TokenField = "max_tokens"
) -> dict[str, Any]:
    """The upstream body for ``model`` (the provider's own id), without ``stream``."""
    body: dict[str, Any] = {"model": model, "messages": [_message_body(m) for m in req.messages]}
    optional = {
        token_field: req.max_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "stop": list(req.stop) or None,
        "tools": [_tool_body(tool) for tool in req.tools] or None,
        "tool_choice": None if req.tool_choice is None else _choice_body(req.tool_choice),
        "response_format": _format_body(req.response_format),
        "user": req.user,
    }
    body.update((key, value) for key, value in optional.items() if value is not None)
    return body


def parse_response(obj: dict[str, Any], served: str) -> ChatResponse:
    """Our response for an upstream ``chat.completion``; ``served`` is ``provider/model``."""
    provider = shape.provider_of(served)
    choices = shape.array(obj.get("choices"), provider, "choices")
    if not choices:
        shape.bad(provider, "choices", "empty; expected one choice")
    choice = shape.obj(choices[0], provider, "choices[0]")
    message = shape.obj(choice.get("message"), provider, "choices[0].message")
    calls = _read_calls(message.get("tool_calls"), provider)
    finish = shape.opt_text(choice.get("finish_reason"), provider, "choices[0].finish_reason")
    return ChatResponse(
        id=shape.opt_text(obj.get("id"), provider, "id") or "",
        model=served,
        message=Message("assistant", _read_content(message.get("content"), provider), calls),
        finish_reason=stops.from_openai(finish, bool(calls)),
        usage=read_usage(obj.get("usage"), provider),
    )


def _message_body(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "tool":
        body["content"] = message.content or ""
        body["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        body["tool_calls"] = [_call_body(call) for call in message.tool_calls]
    if message.name is not None:
        body["name"] = message.name
    return body


def _call_body(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def _tool_body(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters:
        function["parameters"] = tool.parameters
    return {"type": "function", "function": function}


def _choice_body(choice: ToolChoice) -> str | dict[str, Any]:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _format_body(fmt: ResponseFormat | None) -> dict[str, Any] | None:
    if fmt is None or fmt.kind == "text":
        return None
    if fmt.kind == "json_object":
        return {"type": "json_object"}
    spec: dict[str, Any] = {"name": fmt.name or "response"}
    if fmt.schema is not None:
        spec["schema"] = fmt.schema
    return {"type": "json_schema", "json_schema": spec}


def _read_content(value: Any, provider: str) -> str | None:
    """Message content: a string, ``null``, or (some servers) an array of parts."""
    if value is None or isinstance(value, str):
        return value
    parts = shape.array(value, provider, "choices[0].message.content")
    texts = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
    return "".join(t for t in texts if isinstance(t, str))


def _read_calls(value: Any, provider: str) -> tuple[ToolCall, ...]:
    where = "choices[0].message.tool_calls"
    items = shape.array(value or [], provider, where)
    return tuple(_read_call(item, provider, f"{where}[{i}]") for i, item in enumerate(items))


def _read_call(value: Any, provider: str, where: str) -> ToolCall:
    call = shape.obj(value, provider, where)
    function = shape.obj(call.get("function"), provider, f"{where}.function")
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        arguments = orjson.dumps(arguments).decode()
    return ToolCall(
        id=shape.opt_text(call.get("id"), provider, f"{where}.id") or new_call_id(),
        name=shape.text(function.get("name"), provider, f"{where}.function.name"),
        arguments=arguments or "",
    )
