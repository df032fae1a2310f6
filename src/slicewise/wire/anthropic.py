"""The Anthropic Messages format, both sides.

Client side (our ``/v1/messages``): ``parse_request``, ``render_response``, ``AnthropicStream``
and ``error_body``. Upstream side (Anthropic's API): ``build_request``, ``parse_response`` and
``AnthropicStreamReader``.

Going upstream, leading system messages move to the top-level ``system``; tool messages become
``tool_result`` blocks in one user turn, with any user text that follows them; ``max_tokens``
defaults to ``DEFAULT_MAX_TOKENS``. What Anthropic cannot express fails with ``RequestError``:
a system message after the conversation has begun, a ``json_schema`` response format, tool
arguments that are not a JSON object. A ``json_object`` format becomes a system instruction, and
a temperature above 1 (OpenAI allows up to 2) is lowered to 1, Anthropic's maximum.
"""

from __future__ import annotations

from typing import Any

import orjson

from slicewise.chat import (
    ChatRequest,
    ChatResponse,
    Message,
    ResponseFormat,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
)
from slicewise.errors import RequestError, UpstreamProtocol
from slicewise.wire import shape, stops
from slicewise.wire.anthropic_request import parse_request
from slicewise.wire.anthropic_stream import AnthropicStream, AnthropicStreamReader, input_tokens

__all__ = [
    "AnthropicStream",
    "AnthropicStreamReader",
    "build_request",
    "error_body",
    "parse_request",
    "parse_response",
    "render_response",
]

DEFAULT_MAX_TOKENS = 4096
JSON_INSTRUCTION = "Answer with one JSON object only: no prose and no code fence around it."
Block = dict[str, Any]


def render_response(resp: ChatResponse, request_id: str, created: int) -> bytes:
    """A ``message`` object. ``created`` is unused (Anthropic has no such field).

    Raises ``UpstreamProtocol`` when a tool call's arguments are not a JSON object, which an
    Anthropic client cannot receive; usage reads as zero when the upstream gave none.
    """
    usage = resp.usage or Usage(0, 0)
    body = {
        "id": request_id,
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": _content(resp.message, resp.model),
        "stop_reason": stops.TO_ANTHROPIC[resp.finish_reason],
        "stop_sequence": None,
        "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
    }
    return orjson.dumps(body)


def error_body(message: str, type: str, param: str | None = None, code: str | None = None) -> bytes:
    """Anthropic's error shape; it has no place for ``param`` or ``code``."""
    return orjson.dumps({"type": "error", "error": {"type": type, "message": message}})


def build_request(model: str, req: ChatRequest) -> dict[str, Any]:
    """The upstream body for ``model`` (Anthropic's own id), without ``stream``."""
    system, turns = _split_system(req.messages)
    system += _format_instruction(req.response_format)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": _turns(turns, len(req.messages) - len(turns)),
    }
    if system:
        body["system"] = system[0] if len(system) == 1 else [_text(s) for s in system]
    body.update(_options(req))
    return body


def parse_response(obj: dict[str, Any], served: str) -> ChatResponse:
    """Our response for an upstream ``message``; ``served`` is ``provider/model``."""
    provider = shape.provider_of(served)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, item in enumerate(shape.array(obj.get("content"), provider, "content")):
        block = shape.obj(item, provider, f"content[{i}]")
        if block.get("type") == "text":
            texts.append(shape.text(block.get("text"), provider, f"content[{i}].text"))
        elif block.get("type") == "tool_use":
            calls.append(_read_tool_use(block, provider, f"content[{i}]"))
    usage = shape.obj(obj.get("usage"), provider, "usage")
    content = "".join(texts) if texts or not calls else None
    return ChatResponse(
        id=shape.text(obj.get("id"), provider, "id"),
        model=served,
        message=Message("assistant", content, tool_calls=tuple(calls)),
        finish_reason=stops.from_anthropic(
            shape.opt_text(obj.get("stop_reason"), provider, "stop_reason")
        ),
        usage=Usage(
            input_tokens(usage, provider),
            shape.count(usage.get("output_tokens"), provider, "usage.output_tokens"),
        ),
    )


def _format_instruction(fmt: ResponseFormat | None) -> list[str]:
    """What a response format adds to the system prompt; ``json_schema`` has no equivalent."""
    if fmt is None or fmt.kind == "text":
        return []
    if fmt.kind == "json_object":
        return [JSON_INSTRUCTION]
    hint = "send json_object, or use a model whose provider supports json_schema"
    raise RequestError(
        f"response_format: json_schema is not supported by this model's provider; {hint}",
        param="response_format",
    )


def _content(message: Message, served: str) -> list[Block]:
    blocks = [_text(message.content)] if message.content else []
    for call in message.tool_calls:
        arguments = _arguments(call.arguments)
        if arguments is None:
            what = f"tool call {call.name!r} has arguments that are not a JSON object"
            raise UpstreamProtocol(shape.provider_of(served), what)
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def _text(text: str) -> Block:
    return {"type": "text", "text": text}


def _arguments(text: str) -> dict[str, Any] | None:
    """A tool call's arguments as an object; ``None`` when they are not one."""
    if not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _split_system(messages: tuple[Message, ...]) -> tuple[list[str], tuple[Message, ...]]:
    """The leading system messages' texts, and the messages after them."""
    first = next((i for i, m in enumerate(messages) if m.role != "system"), len(messages))
    return [m.content or "" for m in messages[:first]], messages[first:]


def _turns(messages: tuple[Message, ...], offset: int) -> list[Block]:
    turns: list[Block] = []
    for i, message in enumerate(messages, start=offset):
        if message.role == "system":
            raise RequestError(
                f"messages[{i}]: this model's provider takes system messages only at the start; "
                "move it before the first user or assistant message",
                param=f"messages[{i}].role",
            )
        if message.role == "assistant":
            blocks = _assistant_blocks(message, i)
            if blocks:
                turns.append({"role": "assistant", "content": blocks})
        else:
            _add_user_block(turns, _user_block(message, i))
    return [_simplify(turn) for turn in turns]


def _user_block(message: Message, i: int) -> Block:
    if message.role == "user":
        return _text(message.content or "")
    if message.tool_call_id is None:
        raise RequestError(
            f"messages[{i}].tool_call_id: missing; send the id of the call this answers",
            param=f"messages[{i}].tool_call_id",
        )
    content = message.content or ""
    return {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": content}


def _add_user_block(turns: list[Block], block: Block) -> None:
    """Tool results, and user text right after them, share one user turn."""
    last = turns[-1]["content"] if turns and turns[-1]["role"] == "user" else None
    if last and last[-1]["type"] == "tool_result":
        last.append(block)
    else:
        turns.append({"role": "user", "content": [block]})


def _simplify(turn: Block) -> Block:
    """A turn of one text block is sent as a plain string, as most clients write it."""
    blocks = turn["content"]
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return {"role": turn["role"], "content": blocks[0]["text"]}
    return turn


def _assistant_blocks(message: Message, i: int) -> list[Block]:
    blocks = [_text(message.content)] if message.content else []
    for j, call in enumerate(message.tool_calls):
        arguments = _arguments(call.arguments)
        if arguments is None:
            param = f"messages[{i}].tool_calls[{j}].function.arguments"
            raise RequestError(
                f"{param}: not a JSON object; this model's provider takes tool arguments "
                'as an object, e.g. \'{"city": "Paris"}\'',
                param=param,
            )
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def _options(req: ChatRequest) -> dict[str, Any]:
    temperature = None if req.temperature is None else min(req.temperature, 1.0)
    options = {
        "temperature": temperature,
        "top_p": req.top_p,
        "stop_sequences": list(req.stop) or None,
        "tools": [_tool_body(tool) for tool in req.tools] or None,
        "tool_choice": _choice_body(req.tool_choice) if req.tools else None,
        "metadata": None if req.user is None else {"user_id": req.user},
    }
    return {key: value for key, value in options.items() if value is not None}


def _tool_body(tool: Tool) -> Block:
    body: Block = {"name": tool.name, "input_schema": {"type": "object", **tool.parameters}}
    if tool.description is not None:
        body["description"] = tool.description
    return body


def _choice_body(choice: ToolChoice | None) -> Block | None:
    if choice is None:
        return None
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


def _read_tool_use(block: Block, provider: str, where: str) -> ToolCall:
    tool_input = block.get("input")
    tool_input = {} if tool_input is None else shape.obj(tool_input, provider, f"{where}.input")
    return ToolCall(
        id=shape.text(block.get("id"), provider, f"{where}.id"),
        name=shape.text(block.get("name"), provider, f"{where}.name"),
        arguments=orjson.dumps(tool_input).decode(),
    )
