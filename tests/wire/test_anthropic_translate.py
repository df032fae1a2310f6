from __future__ import annotations

from typing import Any

import anthropic
import orjson
import pytest

from slicewise.chat import (
    ChatRequest,
    ChatResponse,
    FinishReason,
    Message,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
)
from slicewise.errors import RequestError, UpstreamProtocol
from slicewise.wire import anthropic as wire
from slicewise.wire import openai as openai_wire
from tests.wire.sdks import Canned, anthropic_client, openai_client

CALL = ToolCall("call_1", "weather", '{"city": "Paris"}')


def request(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="auto", messages=messages, **fields)


def test_build_request_moves_system_merges_tool_results_and_maps_options() -> None:
    body = wire.build_request(
        "claude-haiku-4-5",
        request(
            Message("system", "Be brief."),
            Message("system", "Be kind."),
            Message("user", "Weather and time?"),
            Message("assistant", "Checking.", tool_calls=(CALL, ToolCall("call_2", "now", ""))),
            Message("tool", "sunny", tool_call_id="call_1"),
            Message("tool", None, tool_call_id="call_2"),
            Message("user", "Thanks"),
            temperature=1.7,
            top_p=0.5,
            stop=("END",),
            tools=(Tool("weather", "Today's weather", {"properties": {}}), Tool("now")),
            tool_choice="required",
            user="u1",
        ),
    )
    assert body == {
        "model": "claude-haiku-4-5",
        "max_tokens": wire.DEFAULT_MAX_TOKENS,
        "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        "messages": [
            {"role": "user", "content": "Weather and time?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "weather",
                        "input": {"city": "Paris"},
                    },
                    {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": ""},
                    {"type": "text", "text": "Thanks"},
                ],
            },
        ],
        "temperature": 1.0,
        "top_p": 0.5,
        "stop_sequences": ["END"],
        "tools": [
            {
                "name": "weather",
                "input_schema": {"type": "object", "properties": {}},
                "description": "Today's weather",
            },
            {"name": "now", "input_schema": {"type": "object"}},
        ],
        "tool_choice": {"type": "any"},
        "metadata": {"user_id": "u1"},
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", {"type": "auto"}), ("none", {"type": "none"}), ("f", {"type": "tool", "name": "f"})],
)
def test_tool_choice(choice: str, expected: dict[str, Any]) -> None:
    body = wire.build_request(
        "m", request(Message("user", "hi"), tools=(Tool("f"),), tool_choice=choice)
    )
    assert body["tool_choice"] == expected


def test_json_object_becomes_a_system_instruction() -> None:
    body = wire.build_request(
        "m",
        request(Message("user", "hi"), response_format=ResponseFormat("json_object"), max_tokens=9),
    )
    assert body["system"] == wire.JSON_INSTRUCTION
    assert body["max_tokens"] == 9
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_empty_assistant_turn_is_dropped() -> None:
    body = wire.build_request(
        "m", request(Message("user", "a"), Message("assistant", ""), Message("user", "b"))
    )
    assert body["messages"] == [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]


@pytest.mark.parametrize(
    ("req", "param", "message"),
    [
        (
            request(Message("user", "hi"), response_format=ResponseFormat("json_schema", {}, "w")),
            "response_format",
            "response_format: json_schema is not supported by this model's provider",
        ),
        (
            request(Message("system", "a"), Message("user", "hi"), Message("system", "late")),
            "messages[2].role",
            "messages[2]: this model's provider takes system messages only at the start",
        ),
        (
            request(
                Message("user", "hi"), Message("assistant", None, (ToolCall("c", "f", "[1]"),))
            ),
            "messages[1].tool_calls[0].function.arguments",
            "messages[1].tool_calls[0].function.arguments: not a JSON object",
        ),
        (
            request(Message("user", "hi"), Message("assistant", None, (ToolCall("c", "f", "{"),))),
            "messages[1].tool_calls[0].function.arguments",
            "takes tool arguments as an object",
        ),
        (
            request(Message("tool", "x")),
            "messages[0].tool_call_id",
            "messages[0].tool_call_id: missing",
        ),
    ],
)
def test_what_anthropic_cannot_express_fails_clearly(
    req: ChatRequest, param: str, message: str
) -> None:
    with pytest.raises(RequestError) as caught:
        wire.build_request("m", req)
    assert caught.value.param == param
    assert message in caught.value.message


UPSTREAM = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "text", "text": "Let me "},
        {"type": "text", "text": "check."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 10,
        "cache_creation_input_tokens": 3,
        "cache_read_input_tokens": 2,
        "output_tokens": 7,
    },
}


def test_parse_response() -> None:
    assert wire.parse_response(UPSTREAM, "anthropic/claude-haiku-4-5") == ChatResponse(
        id="msg_1",
        model="anthropic/claude-haiku-4-5",
        message=Message(
            "assistant",
            "Let me check.",
            tool_calls=(ToolCall("toolu_1", "weather", '{"city":"Paris"}'),),
        ),
        finish_reason="tool_calls",
        usage=Usage(15, 7),
    )


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_stop_reasons(stop: str | None, reason: FinishReason) -> None:
    obj = {**UPSTREAM, "content": [], "stop_reason": stop}
    response = wire.parse_response(obj, "a/m")
    assert response.finish_reason == reason
    assert response.message.content == ""


@pytest.mark.parametrize(
    ("obj", "where"),
    [
        ({**UPSTREAM, "content": None}, "content: expected an array"),
        ({**UPSTREAM, "content": ["x"]}, "content[0]: expected an object"),
        ({**UPSTREAM, "usage": None}, "usage: expected an object"),
        ({**UPSTREAM, "id": 3}, "id: expected a string"),
        (
            {**UPSTREAM, "content": [{"type": "tool_use", "id": "t", "name": "f", "input": []}]},
            "input",
        ),
    ],
)
def test_parse_response_rejects_what_is_off_protocol(obj: dict[str, Any], where: str) -> None:
    with pytest.raises(UpstreamProtocol, match=r"^anthropic: ") as caught:
        wire.parse_response(obj, "anthropic/claude")
    assert where in str(caught.value)


@pytest.mark.parametrize(
    ("reason", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_rendered_response_reads_back_through_the_sdk(reason: FinishReason, stop: str) -> None:
    response = ChatResponse(
        "x", "openai/gpt-4o", Message("assistant", "Hi.", (CALL,)), reason, Usage(12, 7)
    )
    message = anthropic_client(Canned(wire.render_response(response, "msg_9", 0))).messages.create(
        model="auto", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert (message.id, message.model, message.stop_reason) == ("msg_9", "openai/gpt-4o", stop)
    text, tool = message.content
    assert text.type == "text"
    assert text.text == "Hi."
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_1", "weather", {"city": "Paris"})
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 7)


def test_render_refuses_tool_arguments_that_are_not_an_object() -> None:
    response = ChatResponse(
        "x", "vllm/qwen", Message("assistant", None, (ToolCall("c", "f", "oops"),)), "tool_calls"
    )
    with pytest.raises(UpstreamProtocol, match=r"^vllm: tool call 'f' has arguments"):
        wire.render_response(response, "msg", 0)


def test_render_without_usage_or_text() -> None:
    response = ChatResponse(
        "x", "p/m", Message("assistant", None, (ToolCall("c", "f", ""),)), "tool_calls"
    )
    body = orjson.loads(wire.render_response(response, "msg", 0))
    assert body["content"] == [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]
    assert body["usage"] == {"input_tokens": 0, "output_tokens": 0}


def test_error_body_is_what_the_sdk_raises_with() -> None:
    raw = wire.error_body("max_tokens: missing", "invalid_request_error", param="max_tokens")
    assert orjson.loads(raw) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: missing"},
    }
    client = anthropic_client(Canned(raw, status=400))
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: missing"):
        client.messages.create(model="auto", max_tokens=1, messages=[])


def test_openai_client_reaches_an_anthropic_model() -> None:
    client_body = orjson.dumps(
        {
            "model": "auto",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "weather", "parameters": {"type": "object"}},
                }
            ],
            "response_format": {"type": "json_object"},
        }
    )
    upstream_body = wire.build_request("claude", openai_wire.parse_request(client_body))
    assert upstream_body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": wire.JSON_INSTRUCTION},
    ]
    assert upstream_body["messages"][-1] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"}],
    }
    response = wire.parse_response(UPSTREAM, "anthropic/claude")
    canned = Canned(openai_wire.render_response(response, "chatcmpl-1", 1))
    completion = openai_client(canned).chat.completions.create(model="auto", messages=[])
    (call,) = completion.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert orjson.loads(call.function.arguments) == {"city": "Paris"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_anthropic_client_reaches_an_openai_model() -> None:
    client_body = orjson.dumps(
        {
            "model": "auto",
            "max_tokens": 50,
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
                    ],
                },
            ],
        }
    )
    upstream_body = openai_wire.build_request("gpt-4o-mini", wire.parse_request(client_body))
    assert upstream_body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "toolu_1"},
    ]
    assert upstream_body["max_tokens"] == 50
