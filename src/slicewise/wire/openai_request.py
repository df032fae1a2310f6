"""An OpenAI Chat Completions request body, validated into a ``ChatRequest``.

Strict about what it understands, silent about fields it does not know. Features the gateway
cannot carry to every provider are refused by name: ``n`` above 1, image, audio and file content
parts, audio output, log probabilities, and the legacy ``functions`` / ``function_call`` API.
``developer`` messages are system messages; the text parts of one message are joined with a
newline; ``max_completion_tokens`` and ``max_tokens`` mean the same thing.
"""

from __future__ import annotations

from typing import Any

from slicewise.chat import (
    ChatRequest,
    Message,
    ResponseFormat,
    Role,
    Tool,
    ToolCall,
    ToolChoice,
)
from slicewise.wire.fields import (
    CHOICE_WORDS,
    PART_SEPARATOR,
    Obj,
    at,
    expect_object,
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
    str_dict,
    str_list,
)

ROLES = ("system", "developer", "user", "assistant", "tool")
_ROLES: dict[str, Role] = {"system": "system", "developer": "system", "user": "user"}
FORMATS = ("text", "json_object", "json_schema")
LEGACY = "the legacy function-calling API is not supported; send tools and tool_choice instead"


def parse_request(body: bytes) -> ChatRequest:
    """The request in ``body``; raises ``RequestError`` naming the first field that is wrong."""
    obj = load_body(body)
    _refuse_unsupported(obj)
    tools = _tools(obj)
    return ChatRequest(
        model=req_str(obj, "model", "", "send a route such as 'auto' or a 'provider/model'"),
        messages=_messages(obj),
        max_tokens=_max_tokens(obj),
        temperature=opt_number(obj, "temperature", "", 0, 2),
        top_p=opt_number(obj, "top_p", "", 0, 1),
        stop=() if obj.get("stop") is None else str_list(obj["stop"], "stop"),
        tools=tools,
        tool_choice=_tool_choice(obj.get("tool_choice"), tools),
        response_format=_response_format(obj.get("response_format")),
        stream=bool(opt_bool(obj, "stream", "")),
        include_usage=_include_usage(obj),
        user=opt_str(obj, "user", ""),
        metadata={} if obj.get("metadata") is None else str_dict(obj["metadata"], "metadata"),
    )


def _refuse_unsupported(obj: Obj) -> None:
    n = opt_int(obj, "n", "", 1)
    if n is not None and n > 1:
        fail(
            "n", f"{n} is not supported; the gateway returns one choice, so send 1 or leave it out"
        )
    reject(obj, "functions", LEGACY)
    reject(obj, "function_call", LEGACY)
    reject(obj, "logprobs", "the gateway returns no log probabilities; leave it out")
    reject(obj, "audio", "the gateway returns text only; leave it out")
    modalities = opt_list(obj, "modalities", "") or []
    if "audio" in modalities:
        fail("modalities", "'audio' is not supported; the gateway returns text only")


def _messages(obj: Obj) -> tuple[Message, ...]:
    items = opt_list(obj, "messages", "")
    if not items:
        problem = "missing" if items is None else "empty"
        fail("messages", f"{problem}; send an array of at least one message")
    return tuple(_message(item, at("messages", i)) for i, item in enumerate(items))


def _message(value: Any, param: str) -> Message:
    msg = expect_object(value, param)
    if msg.get("role") == "function":
        fail(at(param, "role"), f"'function' is not allowed; {LEGACY} (role 'tool')")
    role = one_of(msg.get("role"), at(param, "role"), ROLES)
    name = opt_str(msg, "name", param)
    if role == "assistant":
        return _assistant(msg, param, name)
    content = _content(msg, param, required=True)
    if role == "tool":
        call_id = req_str(msg, "tool_call_id", param, "send the id of the call this answers")
        return Message("tool", content, tool_call_id=call_id)
    return Message(_ROLES[role], content, name=name)


def _assistant(msg: Obj, param: str, name: str | None) -> Message:
    if msg.get("function_call") is not None:
        fail(at(param, "function_call"), LEGACY)
    if msg.get("audio") is not None:
        fail(at(param, "audio"), "not supported: the gateway carries text only; leave it out")
    calls = _tool_calls(msg, param)
    content = _content(msg, param, required=not calls)
    return Message("assistant", content, tool_calls=calls, name=name)


def _content(msg: Obj, param: str, required: bool) -> str | None:
    value, where = msg.get("content"), at(param, "content")
    if value is None:
        if required:
            fail(where, "missing; send a string or an array of text parts")
        return None
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        fail(where, f"expected a string or an array of text parts, got {kind(value)}")
    return PART_SEPARATOR.join(_part(item, at(where, i)) for i, item in enumerate(value))


def _part(value: Any, param: str) -> str:
    part = expect_object(value, param)
    part_type = part.get("type")
    if part_type in ("text", "refusal"):
        return req_str(part, str(part_type), param, "send the part's text")
    if part_type is None:
        fail(at(param, "type"), "missing; send text parts: {'type': 'text', 'text': ...}")
    shown = repr(part_type) if isinstance(part_type, str) else kind(part_type)
    fail(at(param, "type"), f"{shown} parts are not supported; the gateway accepts text parts only")


def _tool_calls(msg: Obj, param: str) -> tuple[ToolCall, ...]:
    where = at(param, "tool_calls")
    items = opt_list(msg, "tool_calls", param) or []
    return tuple(_tool_call(item, at(where, i)) for i, item in enumerate(items))


def _tool_call(value: Any, param: str) -> ToolCall:
    call = expect_object(value, param)
    one_of(call.get("type", "function"), at(param, "type"), ("function",))
    function = req_object(call, "function", param, "send {name, arguments}")
    where = at(param, "function")
    return ToolCall(
        id=req_str(call, "id", param, "send the id the model gave this call"),
        name=req_str(function, "name", where, "send the name of the tool called"),
        arguments=opt_str(function, "arguments", where) or "",
    )


def _tools(obj: Obj) -> tuple[Tool, ...]:
    items = opt_list(obj, "tools", "") or []
    return tuple(_tool(item, at("tools", i)) for i, item in enumerate(items))


def _tool(value: Any, param: str) -> Tool:
    tool = expect_object(value, param)
    one_of(tool.get("type"), at(param, "type"), ("function",))
    function = req_object(tool, "function", param, "send {name, description, parameters}")
    where = at(param, "function")
    parameters = function.get("parameters")
    return Tool(
        name=req_str(function, "name", where, "name the tool"),
        description=opt_str(function, "description", where),
        parameters={} if parameters is None else expect_object(parameters, at(where, "parameters")),
    )


def _tool_choice(value: Any, tools: tuple[Tool, ...]) -> ToolChoice | None:
    if value is None:
        return None
    if isinstance(value, str):
        choice = one_of(value, "tool_choice", CHOICE_WORDS)
        if choice == "required" and not tools:
            fail("tool_choice", "'required' needs tools; send tools or leave tool_choice out")
        return choice
    obj = expect_object(value, "tool_choice")
    one_of(obj.get("type"), "tool_choice.type", ("function",))
    function = req_object(obj, "function", "tool_choice", "send {name} of the tool to call")
    name = req_str(function, "name", "tool_choice.function", "name one of the tools")
    return named_tool(name, tools, "tool_choice.function.name")


def _response_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    obj = expect_object(value, "response_format")
    format_kind = one_of(obj.get("type"), "response_format.type", FORMATS)
    if format_kind == "text":
        return ResponseFormat("text")
    if format_kind == "json_object":
        return ResponseFormat("json_object")
    spec = req_object(obj, "json_schema", "response_format", "send {name, schema}")
    schema = spec.get("schema")
    return ResponseFormat(
        "json_schema",
        schema=None
        if schema is None
        else expect_object(schema, "response_format.json_schema.schema"),
        name=req_str(spec, "name", "response_format.json_schema", "name the schema"),
    )


def _max_tokens(obj: Obj) -> int | None:
    legacy = opt_int(obj, "max_tokens", "", 1)
    current = opt_int(obj, "max_completion_tokens", "", 1)
    if legacy is not None and current is not None and legacy != current:
        fail("max_completion_tokens", "differs from max_tokens; send only one of the two")
    return legacy if current is None else current


def _include_usage(obj: Obj) -> bool:
    options = obj.get("stream_options")
    if options is None:
        return False
    return bool(
        opt_bool(expect_object(options, "stream_options"), "include_usage", "stream_options")
    )
