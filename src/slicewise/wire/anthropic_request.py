"""An Anthropic Messages request body, validated into a ``ChatRequest``.

The top-level ``system`` (a string or text blocks) becomes leading system messages. Content
blocks map onto our messages: ``text`` blocks are joined with a newline, an assistant's
``tool_use`` blocks become its tool calls, and a user message holding ``tool_result`` blocks
becomes one tool message per block, followed by a user message for any text it also held.

Refused by name: image and document blocks, extended ``thinking``, server tools (web search,
code execution and the like) and ``mcp_servers``. Dropped because ``ChatRequest`` has no place
for them: ``top_k``, a tool result's ``is_error`` flag, ``disable_parallel_tool_use``,
``cache_control``.
"""

from __future__ import annotations

from typing import Any

import orjson

from slicewise.chat import ChatRequest, Message, Tool, ToolCall, ToolChoice
from slicewise.wire.fields import (
    PART_SEPARATOR,
    Obj,
    at,
    expect_object,
    expect_str,
    fail,
    kind,
    load_body,
    named_tool,
    one_of,
    opt_bool,
    opt_int,
    opt_list,
    opt_number,
    opt_str,
    reject,
    req_object,
    req_str,
    str_list,
)

CHOICES: dict[str, ToolChoice] = {"auto": "auto", "any": "required", "none": "none"}


def parse_request(body: bytes) -> ChatRequest:
    """The request in ``body``; raises ``RequestError`` naming the first field that is wrong."""
    obj = load_body(body)
    _refuse_unsupported(obj)
    tools = _tools(obj)
    stop = obj.get("stop_sequences")
    return ChatRequest(
        model=req_str(obj, "model", "", "send a route such as 'auto' or a 'provider/model'"),
        messages=(*_system(obj.get("system")), *_messages(obj)),
        max_tokens=_max_tokens(obj),
        temperature=opt_number(obj, "temperature", "", 0, 1),
        top_p=opt_number(obj, "top_p", "", 0, 1),
        stop=() if stop is None else str_list(stop, "stop_sequences"),
        tools=tools,
        tool_choice=_tool_choice(obj.get("tool_choice"), tools),
        stream=bool(opt_bool(obj, "stream", "")),
        user=_user_id(obj.get("metadata")),
        metadata=_metadata(obj.get("metadata")),
    )


def _refuse_unsupported(obj: Obj) -> None:
    thinking = obj.get("thinking")
    if thinking is not None and expect_object(thinking, "thinking").get("type") != "disabled":
        fail("thinking", "extended thinking is not supported by the gateway; leave it out")
    reject(obj, "mcp_servers", "the gateway does not connect models to MCP servers")


def _max_tokens(obj: Obj) -> int:
    value = opt_int(obj, "max_tokens", "", 1)
    if value is None:
        fail("max_tokens", "missing; say how many tokens the answer may use, e.g. 1024")
    return value


def _system(value: Any) -> tuple[Message, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (Message("system", value),) if value else ()
    if not isinstance(value, list):
        fail("system", f"expected a string or an array of text blocks, got {kind(value)}")
    texts = (_text_block(item, at("system", i)) for i, item in enumerate(value))
    return tuple(Message("system", text) for text in texts)


def _text_block(value: Any, param: str) -> str:
    block = expect_object(value, param)
    one_of(block.get("type"), at(param, "type"), ("text",))
    return expect_str(block.get("text"), at(param, "text"))


def _messages(obj: Obj) -> list[Message]:
    items = opt_list(obj, "messages", "")
    if not items:
        problem = "missing" if items is None else "empty"
        fail("messages", f"{problem}; send an array of at least one message")
    out: list[Message] = []
    for i, item in enumerate(items):
        out.extend(_message(item, at("messages", i)))
    return out


def _message(value: Any, param: str) -> list[Message]:
    msg = expect_object(value, param)
    if msg.get("role") == "system":
        hint = "put the system prompt in the top-level system field"
        fail(at(param, "role"), f"'system' is not allowed; use user or assistant, and {hint}")
    role = one_of(msg.get("role"), at(param, "role"), ("user", "assistant"))
    content, where = msg.get("content"), at(param, "content")
    if isinstance(content, str):
        return [Message("user" if role == "user" else "assistant", content)]
    if not isinstance(content, list):
        got = "missing" if content is None else f"got {kind(content)}"
        fail(where, f"{got}; send a string or an array of content blocks")
    blocks = [expect_object(item, at(where, i)) for i, item in enumerate(content)]
    return _user_turn(blocks, where) if role == "user" else [_assistant(blocks, where)]


def _block_type(block: Obj, param: str, allowed: tuple[str, ...], role: str) -> str:
    value = block.get("type")
    if value in allowed:
        return str(value)
    listed = " or ".join(allowed)
    if value is None:
        fail(at(param, "type"), f"missing; use {listed}")
    shown = repr(value) if isinstance(value, str) else kind(value)
    fail(at(param, "type"), f"{shown} blocks are not supported in {role} messages; use {listed}")


def _user_turn(blocks: list[Obj], param: str) -> list[Message]:
    results: list[Message] = []
    texts: list[str] = []
    for i, block in enumerate(blocks):
        where = at(param, i)
        if _block_type(block, where, ("text", "tool_result"), "user") == "text":
            texts.append(expect_str(block.get("text"), at(where, "text")))
        else:
            results.append(_tool_result(block, where))
    if texts or not results:
        results.append(Message("user", PART_SEPARATOR.join(texts)))
    return results


def _tool_result(block: Obj, param: str) -> Message:
    call_id = req_str(block, "tool_use_id", param, "send the id of the tool_use this answers")
    content, where = block.get("content"), at(param, "content")
    if content is None or isinstance(content, str):
        return Message("tool", content or "", tool_call_id=call_id)
    if not isinstance(content, list):
        fail(where, f"expected a string or an array of text blocks, got {kind(content)}")
    texts = [_result_text(item, at(where, i)) for i, item in enumerate(content)]
    return Message("tool", PART_SEPARATOR.join(texts), tool_call_id=call_id)


def _result_text(value: Any, param: str) -> str:
    block = expect_object(value, param)
    _block_type(block, param, ("text",), "tool_result")
    return expect_str(block.get("text"), at(param, "text"))


def _assistant(blocks: list[Obj], param: str) -> Message:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, block in enumerate(blocks):
        where = at(param, i)
        if _block_type(block, where, ("text", "tool_use"), "assistant") == "text":
            texts.append(expect_str(block.get("text"), at(where, "text")))
        else:
            calls.append(_tool_use(block, where))
    content = PART_SEPARATOR.join(texts) if texts or not calls else None
    return Message("assistant", content, tool_calls=tuple(calls))


def _tool_use(block: Obj, param: str) -> ToolCall:
    arguments = block.get("input")
    arguments = {} if arguments is None else expect_object(arguments, at(param, "input"))
    return ToolCall(
        id=req_str(block, "id", param, "send the id the model gave this tool_use"),
        name=req_str(block, "name", param, "send the name of the tool used"),
        arguments=orjson.dumps(arguments).decode(),
    )


def _tools(obj: Obj) -> tuple[Tool, ...]:
    items = opt_list(obj, "tools", "") or []
    return tuple(_tool(item, at("tools", i)) for i, item in enumerate(items))


def _tool(value: Any, param: str) -> Tool:
    tool = expect_object(value, param)
    tool_type = tool.get("type")
    if tool_type not in (None, "custom"):
        shown = repr(tool_type) if isinstance(tool_type, str) else kind(tool_type)
        hint = "only custom tools (name, description, input_schema) are"
        fail(at(param, "type"), f"{shown} is not supported; {hint}")
    return Tool(
        name=req_str(tool, "name", param, "name the tool"),
        description=opt_str(tool, "description", param),
        parameters=req_object(tool, "input_schema", param, "send the JSON schema of its input"),
    )


def _tool_choice(value: Any, tools: tuple[Tool, ...]) -> ToolChoice | None:
    if value is None:
        return None
    obj = expect_object(value, "tool_choice")
    choice_type = one_of(obj.get("type"), "tool_choice.type", ("auto", "any", "tool", "none"))
    if choice_type == "tool":
        name = req_str(obj, "name", "tool_choice", "name the tool the model must use")
        return named_tool(name, tools, "tool_choice.name")
    if choice_type == "any" and not tools:
        fail("tool_choice.type", "'any' needs tools; send tools or leave tool_choice out")
    return CHOICES[choice_type]


def _metadata(metadata: Any) -> dict[str, str]:
    """String entries of ``metadata`` other than ``user_id`` (``data_class`` for policies)."""
    if metadata is None:
        return {}
    obj = expect_object(metadata, "metadata")
    return {k: v for k, v in obj.items() if k != "user_id" and isinstance(v, str)}


def _user_id(metadata: Any) -> str | None:
    if metadata is None:
        return None
    return opt_str(expect_object(metadata, "metadata"), "user_id", "metadata")
