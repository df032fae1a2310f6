from __future__ import annotations

from typing import Any

import orjson
import pytest

from slicewise.chat import ChatRequest, Message, Tool, ToolCall
from slicewise.errors import RequestError
from slicewise.wire.anthropic import parse_request
from tests.wire.sdks import Canned, anthropic_client

BASE: dict[str, Any] = {
    "model": "auto",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "hi"}],
}
WEATHER = {"name": "weather", "description": "Today's weather", "input_schema": {"type": "object"}}
EMPTY_STREAM = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message",'
    b'"role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,'
    b'"usage":{"input_tokens":1,"output_tokens":0}}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def body(**fields: Any) -> bytes:
    return orjson.dumps({**BASE, **fields})


def with_message(message: dict[str, Any]) -> bytes:
    return body(messages=[message])


def test_full_request_maps_every_field() -> None:
    request = parse_request(
        body(
            system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Weather"},
                        {"type": "text", "text": "in Paris?"},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Checking."},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "weather",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "content": [{"type": "text", "text": "20C"}],
                        },
                        {"type": "text", "text": "Thanks"},
                    ],
                },
            ],
            temperature=0.3,
            top_p=0.8,
            top_k=5,
            stop_sequences=["END"],
            tools=[WEATHER],
            tool_choice={"type": "tool", "name": "weather"},
            stream=True,
            metadata={"user_id": "u1"},
            thinking={"type": "disabled"},
        )
    )
    assert request == ChatRequest(
        model="auto",
        messages=(
            Message("system", "Be brief."),
            Message("system", "Be kind."),
            Message("user", "Weather\nin Paris?"),
            Message(
                "assistant",
                "Checking.",
                tool_calls=(ToolCall("toolu_1", "weather", '{"city":"Paris"}'),),
            ),
            Message("tool", "sunny", tool_call_id="toolu_1"),
            Message("tool", "20C", tool_call_id="toolu_2"),
            Message("user", "Thanks"),
        ),
        max_tokens=256,
        temperature=0.3,
        top_p=0.8,
        stop=("END",),
        tools=(Tool("weather", "Today's weather", {"type": "object"}),),
        tool_choice="weather",
        stream=True,
        user="u1",
    )


def test_string_system_and_tool_results_without_text() -> None:
    request = parse_request(
        body(
            system="Be brief.",
            messages=[
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f"}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
            ],
        )
    )
    assert request.messages == (
        Message("system", "Be brief."),
        Message("assistant", None, tool_calls=(ToolCall("t", "f", "{}"),)),
        Message("tool", "", tool_call_id="t"),
    )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [({"type": "auto"}, "auto"), ({"type": "any"}, "required"), ({"type": "none"}, "none")],
)
def test_tool_choice(choice: dict[str, Any], expected: str) -> None:
    assert parse_request(body(tools=[WEATHER], tool_choice=choice)).tool_choice == expected


def test_requests_the_sdk_sends_parse() -> None:
    canned = Canned(EMPTY_STREAM, stream=True)
    client = anthropic_client(canned)
    with client.messages.stream(
        model="auto",
        max_tokens=20,
        system="Be brief.",
        messages=[{"role": "user", "content": "hi"}],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "any"},
        stop_sequences=["END"],
    ) as stream:
        stream.get_final_message()
    request = parse_request(orjson.dumps(canned.sent[0]))
    assert request.messages == (Message("system", "Be brief."), Message("user", "hi"))
    assert (request.tool_choice, request.max_tokens, request.stop) == ("required", 20, ("END",))


TOOL_RESULT = {"type": "tool_result", "tool_use_id": "t"}
BAD = [
    (b"not json", None, "the request body is not valid JSON"),
    (
        orjson.dumps({"model": "auto", "messages": BASE["messages"]}),
        "max_tokens",
        "max_tokens: missing",
    ),
    (
        body(max_tokens=-1),
        "max_tokens",
        "max_tokens: -1 is too small; use an integer of at least 1",
    ),
    (orjson.dumps({"max_tokens": 5, "messages": BASE["messages"]}), "model", "model: missing"),
    (body(messages=[]), "messages", "messages: empty"),
    (
        with_message({"role": "system", "content": "x"}),
        "messages[0].role",
        "messages[0].role: 'system' is not allowed; use user or assistant, and put the system "
        "prompt in the top-level system field",
    ),
    (
        with_message({"role": "tool", "content": "x"}),
        "messages[0].role",
        "messages[0].role: 'tool' is not allowed; use one of user, assistant",
    ),
    (
        with_message({"role": "user"}),
        "messages[0].content",
        "messages[0].content: missing; send a string or an array of content blocks",
    ),
    (
        with_message({"role": "user", "content": [{"type": "image", "source": {}}]}),
        "messages[0].content[0].type",
        "messages[0].content[0].type: 'image' blocks are not supported in user messages; "
        "use text or tool_result",
    ),
    (
        with_message({"role": "user", "content": [{"type": "document", "source": {}}]}),
        "messages[0].content[0].type",
        "'document' blocks are not supported",
    ),
    (
        with_message({"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f"}]}),
        "messages[0].content[0].type",
        "'tool_use' blocks are not supported in user messages",
    ),
    (
        with_message({"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]}),
        "messages[0].content[0].type",
        "'thinking' blocks are not supported in assistant messages; use text or tool_use",
    ),
    (
        with_message({"role": "assistant", "content": [{"type": "tool_use", "name": "f"}]}),
        "messages[0].content[0].id",
        "messages[0].content[0].id: missing",
    ),
    (
        with_message(
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}],
            }
        ),
        "messages[0].content[0].input",
        "expected an object, got a string",
    ),
    (
        with_message({"role": "user", "content": [{"type": "tool_result"}]}),
        "messages[0].content[0].tool_use_id",
        "messages[0].content[0].tool_use_id: missing",
    ),
    (
        with_message(
            {"role": "user", "content": [{**TOOL_RESULT, "content": [{"type": "image"}]}]}
        ),
        "messages[0].content[0].content[0].type",
        "'image' blocks are not supported in tool_result messages; use text",
    ),
    (
        with_message({"role": "user", "content": [{"type": "text"}]}),
        "messages[0].content[0].text",
        "expected a string, got null",
    ),
    (body(system=5), "system", "system: expected a string or an array of text blocks"),
    (body(system=[{"type": "image"}]), "system[0].type", "system[0].type: 'image' is not allowed"),
    (
        body(temperature=1.5),
        "temperature",
        "temperature: 1.5 is out of range; use a number from 0 to 1",
    ),
    (body(stop_sequences=[3]), "stop_sequences[0]", "expected a string, got an integer"),
    (
        body(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
        "tools[0].type",
        "tools[0].type: 'web_search_20250305' is not supported; only custom tools",
    ),
    (body(tools=[{"name": "f"}]), "tools[0].input_schema", "tools[0].input_schema: missing"),
    (
        body(tool_choice={"type": "sometimes"}),
        "tool_choice.type",
        "tool_choice.type: 'sometimes' is not allowed; use one of auto, any, tool, none",
    ),
    (body(tool_choice={"type": "any"}), "tool_choice.type", "'any' needs tools"),
    (
        body(tools=[WEATHER], tool_choice={"type": "tool", "name": "nope"}),
        "tool_choice.name",
        "tool_choice.name: 'nope' is not one of the tools; use one of weather",
    ),
    (body(tool_choice={"type": "tool"}), "tool_choice.name", "tool_choice.name: missing"),
    (body(thinking={"type": "enabled", "budget_tokens": 1024}), "thinking", "extended thinking"),
    (body(mcp_servers=[{"url": "x"}]), "mcp_servers", "mcp_servers: not supported"),
    (body(metadata={"user_id": 5}), "metadata.user_id", "metadata.user_id: expected a string"),
    (body(stream=1), "stream", "stream: expected true or false, got an integer"),
]


@pytest.mark.parametrize(("raw", "param", "message"), BAD)
def test_bad_requests_name_the_field_and_what_is_allowed(
    raw: bytes, param: str | None, message: str
) -> None:
    with pytest.raises(RequestError) as caught:
        parse_request(raw)
    assert caught.value.param == param
    assert message in caught.value.message
    if param is not None:
        assert caught.value.message.startswith(f"{param}: ")
