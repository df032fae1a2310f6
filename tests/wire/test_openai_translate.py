from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest

from slicewise.chat import (
    ChatRequest,
    ChatResponse,
    Message,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
)
from slicewise.errors import UpstreamProtocol
from slicewise.wire.openai import build_request, error_body, parse_response, render_response
from tests.wire.sdks import Canned, openai_client

CALL = ToolCall("call_1", "weather", '{"city": "Paris"}')
REQUEST = ChatRequest(
    model="auto",
    messages=(
        Message("system", "Be brief."),
        Message("user", "Weather?", name="ann"),
        Message("assistant", None, tool_calls=(CALL,)),
        Message("tool", "sunny", tool_call_id="call_1"),
    ),
    max_tokens=100,
    temperature=0.2,
    top_p=0.9,
    stop=("END",),
    tools=(Tool("weather", "Today's weather", {"type": "object"}), Tool("now")),
    tool_choice="weather",
    response_format=ResponseFormat("json_schema", schema={"type": "object"}, name="w"),
    stream=True,
    include_usage=True,
    user="u1",
    metadata={"team": "search"},
)


def test_build_request_carries_every_field_but_metadata() -> None:
    assert build_request("gpt-4o-mini", REQUEST) == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather?", "name": "ann"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
        ],
        "max_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END"],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Today's weather",
                    "parameters": {"type": "object"},
                },
            },
            {"type": "function", "function": {"name": "now"}},
        ],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": {"type": "object"}},
        },
        "user": "u1",
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool_choice": "required"}, {"tool_choice": "required"}),
        (
            {"response_format": ResponseFormat("json_object")},
            {"response_format": {"type": "json_object"}},
        ),
        ({"response_format": ResponseFormat("text")}, {}),
    ],
)
def test_build_request_options(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    request = ChatRequest(model="auto", messages=(Message("user", "hi"),), **fields)
    body = build_request("m", request)
    assert body == {"model": "m", "messages": [{"role": "user", "content": "hi"}], **expected}


def test_token_field_can_be_max_completion_tokens() -> None:
    request = ChatRequest(model="auto", messages=(Message("user", "hi"),), max_tokens=7)
    body = build_request("o3", request, token_field="max_completion_tokens")
    assert body["max_completion_tokens"] == 7
    assert "max_tokens" not in body


UPSTREAM = {
    "id": "chatcmpl-9",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
}


def test_parse_response() -> None:
    assert parse_response(UPSTREAM, "openai/gpt-4o-mini") == ChatResponse(
        id="chatcmpl-9",
        model="openai/gpt-4o-mini",
        message=Message("assistant", None, tool_calls=(CALL,)),
        finish_reason="tool_calls",
        usage=Usage(12, 7),
    )


def test_parse_response_tolerates_what_compatible_servers_send() -> None:
    obj = {
        "choices": [
            {
                "message": {
                    "content": [
                        {"type": "thinking", "thinking": "x"},
                        {"type": "text", "text": "hi"},
                    ],
                    "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}],
                },
                "finish_reason": "stop",
            }
        ]
    }
    response = parse_response(obj, "ollama/llama3")
    assert (response.id, response.usage, response.finish_reason) == ("", None, "tool_calls")
    assert response.message.content == "hi"
    (call,) = response.message.tool_calls
    assert (call.name, call.arguments) == ("f", '{"a":1}')
    assert call.id.startswith("call_")


@pytest.mark.parametrize(
    ("obj", "where"),
    [
        ({}, "choices: expected an array"),
        ({"choices": []}, "choices: empty"),
        ({"choices": [{"finish_reason": "stop"}]}, "choices[0].message: expected an object"),
        ({"choices": [{"message": {"content": 5}}]}, "content: expected an array, got int"),
        (
            {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": -1}},
            "usage.prompt_tokens: expected a token count, got -1",
        ),
        (
            {"choices": [{"message": {"tool_calls": [{"function": {}}]}}]},
            "tool_calls[0].function.name: expected a string",
        ),
    ],
)
def test_parse_response_rejects_what_is_off_protocol(obj: dict[str, Any], where: str) -> None:
    with pytest.raises(UpstreamProtocol, match=r"^groq: ") as caught:
        parse_response(obj, "groq/llama-3.1-8b")
    assert where in str(caught.value)


def test_rendered_response_reads_back_through_the_sdk() -> None:
    response = ChatResponse(
        "x",
        "anthropic/claude-haiku",
        Message("assistant", "Let me check.", tool_calls=(CALL,)),
        "tool_calls",
        Usage(12, 7),
    )
    canned = Canned(render_response(response, "chatcmpl-1", 1_700_000_000))
    completion = openai_client(canned).chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "hi"}]
    )
    assert (completion.id, completion.model, completion.created) == (
        "chatcmpl-1",
        "anthropic/claude-haiku",
        1_700_000_000,
    )
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Let me check.", "tool_calls")
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert (call.id, call.function.name, call.function.arguments) == (
        CALL.id,
        CALL.name,
        CALL.arguments,
    )
    assert completion.usage is not None
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (12, 7, 19)


def test_response_without_usage_leaves_it_out() -> None:
    response = ChatResponse("x", "p/m", Message("assistant", "hi"), "stop")
    assert "usage" not in orjson.loads(render_response(response, "id", 1))


def test_error_body_is_what_the_sdk_raises_with() -> None:
    raw = error_body("messages: missing", "invalid_request_error", param="messages")
    assert orjson.loads(raw) == {
        "error": {
            "message": "messages: missing",
            "type": "invalid_request_error",
            "param": "messages",
            "code": None,
        }
    }
    client = openai_client(Canned(raw, status=400))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="auto", messages=[])
    assert caught.value.param == "messages"
    assert "messages: missing" in caught.value.message
