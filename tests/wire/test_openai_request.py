from __future__ import annotations

from typing import Any

import orjson
import pytest

from slicewise.chat import ChatRequest, Message, ResponseFormat, Tool, ToolCall
from slicewise.errors import RequestError
from slicewise.wire.openai import parse_request
from tests.wire.sdks import Canned, openai_client

BASE: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Today's weather",
        "parameters": {"type": "object"},
    },
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}


def body(**fields: Any) -> bytes:
    return orjson.dumps({**BASE, **fields})


def with_message(message: dict[str, Any]) -> bytes:
    return body(messages=[message])


def test_full_request_maps_every_field() -> None:
    request = parse_request(
        body(
            messages=[
                {"role": "developer", "content": "Be brief."},
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                },
                {"role": "user", "content": "Weather in Paris?", "name": "ann"},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            max_completion_tokens=100,
            temperature=0.5,
            top_p=0.9,
            stop="END",
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "weather"}},
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "w", "schema": {"type": "object"}},
            },
            stream=True,
            stream_options={"include_usage": True},
            user="u1",
            metadata={"team": "search"},
            seed=3,
            parallel_tool_calls=False,
        )
    )
    assert request == ChatRequest(
        model="auto",
        messages=(
            Message("system", "Be brief."),
            Message("system", "a\nb"),
            Message("user", "Weather in Paris?", name="ann"),
            Message("assistant", None, tool_calls=(ToolCall("call_1", "weather", "{}"),)),
            Message("tool", "sunny", tool_call_id="call_1"),
        ),
        max_tokens=100,
        temperature=0.5,
        top_p=0.9,
        stop=("END",),
        tools=(Tool("weather", "Today's weather", {"type": "object"}),),
        tool_choice="weather",
        response_format=ResponseFormat("json_schema", schema={"type": "object"}, name="w"),
        stream=True,
        include_usage=True,
        user="u1",
        metadata={"team": "search"},
    )


def test_minimal_request_has_defaults_and_nulls_read_as_absent() -> None:
    request = parse_request(body(temperature=None, stop=None, tools=None, logprobs=False, n=1))
    assert request == ChatRequest(model="auto", messages=(Message("user", "hi"),))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool_choice": "required"}, "required"),
        ({"tool_choice": "none"}, "none"),
        ({"tool_choice": "auto"}, "auto"),
        ({"max_tokens": 50}, 50),
        ({"response_format": {"type": "json_object"}}, ResponseFormat("json_object")),
        ({"response_format": {"type": "text"}}, ResponseFormat("text")),
    ],
)
def test_simple_options(fields: dict[str, Any], expected: Any) -> None:
    request = parse_request(body(tools=[WEATHER], **fields))
    key = next(iter(fields))
    assert getattr(request, "max_tokens" if key == "max_tokens" else key) == expected


def test_requests_the_sdk_sends_parse() -> None:
    canned = Canned(b"data: [DONE]\n\n", stream=True)
    client = openai_client(canned)
    list(
        client.chat.completions.create(
            model="auto",
            messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice="required",
            max_completion_tokens=20,
            stream_options={"include_usage": True},
            stream=True,
        )
    )
    request = parse_request(orjson.dumps(canned.sent[0]))
    assert request.messages == (Message("user", "hi"),)
    assert (request.tool_choice, request.max_tokens, request.include_usage) == (
        "required",
        20,
        True,
    )


BAD = [
    (b"{", None, "the request body is not valid JSON"),
    (b"[1]", None, "the request body is an array; send one JSON object"),
    (orjson.dumps({"messages": BASE["messages"]}), "model", "model: missing; send a route"),
    (body(model=5), "model", "model: expected a string, got an integer"),
    (body(model=""), "model", "model: empty"),
    (orjson.dumps({"model": "auto"}), "messages", "messages: missing; send an array of at least"),
    (body(messages=[]), "messages", "messages: empty"),
    (body(messages="hi"), "messages", "messages: expected an array, got a string"),
    (body(messages=["hi"]), "messages[0]", "messages[0]: expected an object, got a string"),
    (
        with_message({"role": "bot", "content": "x"}),
        "messages[0].role",
        "messages[0].role: 'bot' is not allowed; "
        "use one of system, developer, user, assistant, tool",
    ),
    (with_message({"content": "x"}), "messages[0].role", "messages[0].role: missing; use one of"),
    (
        with_message({"role": "function", "name": "f", "content": "x"}),
        "messages[0].role",
        "legacy function-calling API is not supported; send tools and tool_choice instead",
    ),
    (with_message({"role": "user"}), "messages[0].content", "messages[0].content: missing"),
    (
        with_message({"role": "user", "content": 3}),
        "messages[0].content",
        "expected a string or an array of text parts, got an integer",
    ),
    (
        with_message(
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}],
            }
        ),
        "messages[0].content[1].type",
        "messages[0].content[1].type: 'image_url' parts are not supported; "
        "the gateway accepts text parts only",
    ),
    (
        with_message({"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}),
        "messages[0].content[0].type",
        "'input_audio' parts are not supported",
    ),
    (
        with_message({"role": "user", "content": [{"text": "a"}]}),
        "messages[0].content[0].type",
        "missing; send text parts",
    ),
    (
        with_message({"role": "tool", "content": "x"}),
        "messages[0].tool_call_id",
        "messages[0].tool_call_id: missing; send the id of the call this answers",
    ),
    (
        with_message({"role": "assistant"}),
        "messages[0].content",
        "messages[0].content: missing",
    ),
    (
        with_message({"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}),
        "messages[0].function_call",
        "send tools and tool_choice instead",
    ),
    (
        with_message(
            {
                "role": "assistant",
                "tool_calls": [{**CALL, "function": {"name": "f", "arguments": {}}}],
            }
        ),
        "messages[0].tool_calls[0].function.arguments",
        "messages[0].tool_calls[0].function.arguments: expected a string, got an object",
    ),
    (
        with_message({"role": "assistant", "tool_calls": [{"type": "function", "function": {}}]}),
        "messages[0].tool_calls[0].id",
        "messages[0].tool_calls[0].id: missing",
    ),
    (
        body(max_tokens=-5),
        "max_tokens",
        "max_tokens: -5 is too small; use an integer of at least 1",
    ),
    (body(max_tokens=0), "max_tokens", "max_tokens: 0 is too small"),
    (body(max_tokens="10"), "max_tokens", "max_tokens: expected an integer, got a string"),
    (body(max_tokens=True), "max_tokens", "max_tokens: expected an integer, got a boolean"),
    (body(max_tokens=1.5), "max_tokens", "max_tokens: expected an integer, got a number"),
    (
        body(max_tokens=10, max_completion_tokens=20),
        "max_completion_tokens",
        "differs from max_tokens; send only one of the two",
    ),
    (
        body(temperature=3),
        "temperature",
        "temperature: 3 is out of range; use a number from 0 to 2",
    ),
    (body(temperature="hot"), "temperature", "temperature: expected a number, got a string"),
    (body(top_p=-0.1), "top_p", "top_p: -0.1 is out of range; use a number from 0 to 1"),
    (body(n=2), "n", "n: 2 is not supported; the gateway returns one choice, so send 1"),
    (body(n=0), "n", "n: 0 is too small"),
    (body(functions=[{"name": "f"}]), "functions", "functions: not supported: the legacy"),
    (body(function_call="auto"), "function_call", "function_call: not supported: the legacy"),
    (body(logprobs=True), "logprobs", "logprobs: not supported: the gateway returns no log"),
    (body(audio={"voice": "x"}), "audio", "audio: not supported"),
    (body(modalities=["text", "audio"]), "modalities", "'audio' is not supported"),
    (
        body(tools=[{"type": "web_search"}]),
        "tools[0].type",
        "tools[0].type: 'web_search' is not allowed; use one of function",
    ),
    (body(tools=[{"type": "function"}]), "tools[0].function", "tools[0].function: missing"),
    (
        body(tools=[{"type": "function", "function": {"description": "d"}}]),
        "tools[0].function.name",
        "tools[0].function.name: missing; name the tool",
    ),
    (
        body(tools=[{"type": "function", "function": {"name": "f", "parameters": []}}]),
        "tools[0].function.parameters",
        "expected an object, got an array",
    ),
    (
        body(tool_choice="sometimes"),
        "tool_choice",
        "tool_choice: 'sometimes' is not allowed; use one of auto, none, required",
    ),
    (body(tool_choice="required"), "tool_choice", "'required' needs tools"),
    (
        body(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}}),
        "tool_choice.function.name",
        "tool_choice.function.name: 'nope' is not one of the tools; use one of weather",
    ),
    (
        body(tool_choice={"type": "function", "function": {"name": "nope"}}),
        "tool_choice.function.name",
        "send it in tools first",
    ),
    (body(tool_choice=3), "tool_choice", "tool_choice: expected an object, got an integer"),
    (
        body(response_format={"type": "xml"}),
        "response_format.type",
        "response_format.type: 'xml' is not allowed; use one of text, json_object, json_schema",
    ),
    (
        body(response_format={"type": "json_schema"}),
        "response_format.json_schema",
        "response_format.json_schema: missing",
    ),
    (body(stop=[1]), "stop[0]", "stop[0]: expected a string, got an integer"),
    (body(stop=5), "stop", "stop: expected a string or an array of strings"),
    (body(stream="yes"), "stream", "stream: expected true or false, got a string"),
    (body(stream_options="x"), "stream_options", "stream_options: expected an object"),
    (body(metadata={"a": 1}), "metadata.a", "metadata.a: expected a string, got an integer"),
    (body(user=7), "user", "user: expected a string"),
]


@pytest.mark.parametrize(("raw", "param", "message"), BAD)
def test_bad_requests_name_the_field_and_what_is_allowed(
    raw: bytes, param: str | None, message: str
) -> None:
    with pytest.raises(RequestError) as caught:
        parse_request(raw)
    assert caught.value.param == param
    assert caught.value.status == 400
    assert message in caught.value.message
    if param is not None:
        assert caught.value.message.startswith(f"{param}: ")
