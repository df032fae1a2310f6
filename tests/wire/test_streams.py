"""Stream writers, checked by the official SDKs' parsers, and stream readers."""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest

from slicewise.chat import StreamEnd, StreamEvent, TextDelta, ToolCallDelta, Usage
from slicewise.errors import UpstreamProtocol, UpstreamStatus
from slicewise.wire.anthropic import AnthropicStream, AnthropicStreamReader
from slicewise.wire.openai import OpenAIStream, OpenAIStreamReader
from slicewise.wire.sse import SSEDecoder
from tests.wire.sdks import Canned, anthropic_client, openai_client

EVENTS: list[StreamEvent] = [
    TextDelta("Let me "),
    TextDelta(""),
    TextDelta("check."),
    ToolCallDelta(0, id="call_1", name="weather", arguments='{"ci'),
    ToolCallDelta(0, arguments='ty": "Paris"}'),
    ToolCallDelta(1, id="call_2", name="now"),
    StreamEnd("tool_calls", Usage(12, 7)),
]
ASK = [{"role": "user", "content": "hi"}]


def openai_bytes(events: list[StreamEvent], include_usage: bool = True) -> bytes:
    writer = OpenAIStream("chatcmpl-1", "anthropic/claude", 1_700_000_000, include_usage)
    return writer.start() + b"".join(writer.event(ev) for ev in events) + writer.finish()


def anthropic_bytes(events: list[StreamEvent]) -> bytes:
    writer = AnthropicStream("msg_1", "openai/gpt-4o", 3)
    return writer.start() + b"".join(writer.event(ev) for ev in events) + writer.finish()


def test_openai_sdk_reads_text_tool_calls_and_usage() -> None:
    client = openai_client(Canned(openai_bytes(EVENTS), stream=True))
    with client.chat.completions.stream(model="auto", messages=ASK) as stream:  # type: ignore[arg-type]
        final = stream.get_final_completion()
    assert (final.id, final.model, final.created) == (
        "chatcmpl-1",
        "anthropic/claude",
        1_700_000_000,
    )
    choice = final.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Let me check.", "tool_calls")
    calls = [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
    assert calls == [("call_1", "weather", '{"city": "Paris"}'), ("call_2", "now", "")]
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (12, 7)


def test_openai_chunks_start_with_the_role_and_end_with_usage() -> None:
    client = openai_client(Canned(openai_bytes(EVENTS), stream=True))
    chunks = list(client.chat.completions.create(model="auto", messages=ASK, stream=True))  # type: ignore[arg-type]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 19
    assert chunks[-2].choices[0].finish_reason == "tool_calls"


def test_openai_usage_chunk_only_when_asked() -> None:
    raw = openai_bytes([TextDelta("hi"), StreamEnd("stop", Usage(1, 1))], include_usage=False)
    assert b'"usage"' not in raw
    assert raw.endswith(b"data: [DONE]\n\n")


def test_openai_error_ends_the_stream_and_the_sdk_raises_it() -> None:
    writer = OpenAIStream("chatcmpl-1", "p/m", 1, False)
    raw = (
        writer.start()
        + writer.event(TextDelta("partial"))
        + writer.error("upstream cut", "api_error")
    )
    client = openai_client(Canned(raw, stream=True))
    stream = client.chat.completions.create(model="auto", messages=ASK, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError, match="upstream cut"):
        list(stream)


def test_anthropic_sdk_reads_text_tool_use_and_usage() -> None:
    client = anthropic_client(Canned(anthropic_bytes(EVENTS), stream=True))
    with client.messages.stream(model="auto", max_tokens=9, messages=ASK) as stream:  # type: ignore[list-item]
        final = stream.get_final_message()
    assert (final.id, final.model, final.stop_reason) == ("msg_1", "openai/gpt-4o", "tool_use")
    text, weather, now = final.content
    assert text.type == "text"
    assert text.text == "Let me check."
    assert weather.type == "tool_use"
    assert now.type == "tool_use"
    assert (weather.id, weather.name, weather.input) == ("call_1", "weather", {"city": "Paris"})
    assert (now.id, now.name, now.input) == ("call_2", "now", {})
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 7)


def test_anthropic_blocks_follow_each_other_and_late_fragments_keep_their_block() -> None:
    events: list[StreamEvent] = [
        ToolCallDelta(0, id="a", name="f", arguments='{"x"'),
        TextDelta("between"),
        ToolCallDelta(0, arguments=": 1}"),
        StreamEnd("stop", None),
    ]
    client = anthropic_client(Canned(anthropic_bytes(events), stream=True))
    with client.messages.stream(model="auto", max_tokens=9, messages=ASK) as stream:  # type: ignore[list-item]
        final = stream.get_final_message()
    tool, text = final.content
    assert tool.type == "tool_use"
    assert tool.input == {"x": 1}
    assert text.type == "text"
    assert text.text == "between"
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 3  # the estimate stands when the upstream gave no usage


def test_anthropic_finish_without_an_end_event_still_closes_the_message() -> None:
    raw = anthropic_bytes([TextDelta("hi")])
    client = anthropic_client(Canned(raw, stream=True))
    with client.messages.stream(model="auto", max_tokens=9, messages=ASK) as stream:  # type: ignore[list-item]
        assert stream.get_final_text() == "hi"
    assert raw.count(b"event: content_block_stop") == 1


def test_anthropic_error_event_makes_the_sdk_raise() -> None:
    writer = AnthropicStream("msg_1", "p/m", 0)
    raw = writer.start() + writer.event(TextDelta("partial")) + writer.error("cut", "api_error")
    client = anthropic_client(Canned(raw, stream=True))
    with (
        pytest.raises(anthropic.APIStatusError, match="cut"),
        client.messages.stream(model="auto", max_tokens=9, messages=ASK) as stream,  # type: ignore[list-item]
    ):
        stream.get_final_message()


def decoded(raw: bytes) -> list[tuple[str, bytes]]:
    return SSEDecoder().feed(raw)


def test_openai_writer_and_reader_round_trip() -> None:
    reader = OpenAIStreamReader("p")
    out = [ev for _, data in decoded(openai_bytes(EVENTS)) for ev in reader.feed(data)]
    assert out == [ev for ev in EVENTS if ev != TextDelta("")]
    assert reader.done


def test_anthropic_writer_and_reader_round_trip() -> None:
    reader = AnthropicStreamReader("p")
    out = [ev for name, data in decoded(anthropic_bytes(EVENTS)) for ev in reader.feed(name, data)]
    assert out == [
        TextDelta("Let me "),
        TextDelta("check."),
        ToolCallDelta(0, id="call_1", name="weather"),
        ToolCallDelta(0, arguments='{"ci'),
        ToolCallDelta(0, arguments='ty": "Paris"}'),
        ToolCallDelta(1, id="call_2", name="now"),
        StreamEnd("tool_calls", Usage(12, 7)),
    ]
    assert reader.done


def chunk(delta: dict[str, object], finish: str | None = None, **extra: object) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return orjson.dumps(
        {"id": "c", "object": "chat.completion.chunk", "choices": [choice], **extra}
    )


def test_openai_reader_on_what_upstreams_send() -> None:
    reader = OpenAIStreamReader("vllm")
    call = {"index": 0, "id": "call_9", "type": "function"}
    payloads = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hi"}),
        chunk({"tool_calls": [{**call, "function": {"name": "f", "arguments": ""}}]}),
        chunk({"tool_calls": [{**call, "function": {"arguments": '{"a":'}}]}),  # id repeated
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        chunk({}, finish="stop"),
        orjson.dumps(
            {"id": "c", "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
        ),
        b"[DONE]",
        chunk({"content": "after the end"}),
    ]
    out = [ev for data in payloads for ev in reader.feed(data)]
    assert out == [
        TextDelta("Hi"),
        ToolCallDelta(0, id="call_9", name="f"),
        ToolCallDelta(0, arguments='{"a":'),
        ToolCallDelta(0, arguments="1}"),
        StreamEnd("tool_calls", Usage(4, 2)),
    ]


def test_openai_reader_gives_ids_to_calls_without_one() -> None:
    reader = OpenAIStreamReader("gemini")
    (ev,) = reader.feed(chunk({"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}))
    assert isinstance(ev, ToolCallDelta)
    assert ev.id
    assert ev.id.startswith("call_")
    assert reader.feed(b"[DONE]") == [StreamEnd("tool_calls", None)]


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"{not json", UpstreamProtocol, "stream chunk: not JSON"),
        (b"[1]", UpstreamProtocol, "stream chunk: expected an object"),
        (chunk({"content": 5}), UpstreamProtocol, "delta.content: expected a string"),
        (chunk({"tool_calls": [{"index": "0"}]}), UpstreamProtocol, "index: expected an integer"),
        (orjson.dumps({"choices": {}}), UpstreamProtocol, "choices: expected an array"),
        (
            orjson.dumps({"error": {"message": "overloaded", "code": 503}}),
            UpstreamStatus,
            "overloaded",
        ),
    ],
)
def test_openai_reader_rejects_what_is_off_protocol(
    data: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        OpenAIStreamReader("vllm").feed(data)


def test_openai_in_band_error_keeps_its_status() -> None:
    with pytest.raises(UpstreamStatus) as caught:
        OpenAIStreamReader("vllm").feed(orjson.dumps({"error": {"message": "x", "code": 503}}))
    assert caught.value.status == 503


def anthropic_event(name: str, **payload: object) -> tuple[str, bytes]:
    return name, orjson.dumps({"type": name, **payload})


def test_anthropic_reader_on_what_anthropic_sends() -> None:
    reader = AnthropicStreamReader("anthropic")
    usage = {"input_tokens": 20, "cache_read_input_tokens": 5, "output_tokens": 1}
    events = [
        anthropic_event("message_start", message={"id": "msg", "content": [], "usage": usage}),
        ("ping", b'{"type": "ping"}'),
        anthropic_event(
            "content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}
        ),
        anthropic_event(
            "content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hm"}
        ),
        anthropic_event("content_block_stop", index=0),
        anthropic_event("content_block_start", index=1, content_block={"type": "text", "text": ""}),
        anthropic_event("content_block_delta", index=1, delta={"type": "text_delta", "text": "Hi"}),
        anthropic_event("content_block_stop", index=1),
        anthropic_event(
            "content_block_start",
            index=2,
            content_block={"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        ),
        anthropic_event(
            "content_block_delta", index=2, delta={"type": "input_json_delta", "partial_json": ""}
        ),
        anthropic_event(
            "content_block_delta", index=2, delta={"type": "input_json_delta", "partial_json": "{}"}
        ),
        ("message", orjson.dumps({"type": "content_block_stop", "index": 2})),
        anthropic_event("some_future_event", detail=1),
        anthropic_event(
            "message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 9}
        ),
        anthropic_event("message_stop"),
    ]
    out = [ev for name, data in events for ev in reader.feed(name, data)]
    assert out == [
        TextDelta("Hi"),
        ToolCallDelta(0, id="toolu_1", name="f"),
        ToolCallDelta(0, arguments="{}"),
        StreamEnd("tool_calls", Usage(25, 9)),
    ]
    assert reader.feed(*anthropic_event("message_stop")) == []


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        (("message_start", b"nope"), UpstreamProtocol, "message_start event: not JSON"),
        (
            anthropic_event("message_start", message=[]),
            UpstreamProtocol,
            "message: expected an object",
        ),
        (
            anthropic_event(
                "content_block_delta",
                index=4,
                delta={"type": "input_json_delta", "partial_json": "{"},
            ),
            UpstreamProtocol,
            "its block never started as tool_use",
        ),
        (
            anthropic_event("error", error={"type": "overloaded_error", "message": "Overloaded"}),
            UpstreamStatus,
            "HTTP 529: error inside the stream: Overloaded",
        ),
    ],
)
def test_anthropic_reader_rejects_what_is_off_protocol(
    event: tuple[str, bytes], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        AnthropicStreamReader("anthropic").feed(*event)


def test_openai_writer_sends_each_call_id_once_and_makes_up_missing_ones() -> None:
    writer = OpenAIStream("chatcmpl-7", "p/m", 1, False)
    first = writer.event(ToolCallDelta(0, name="f", arguments="{"))
    again = writer.event(ToolCallDelta(0, id="ignored", arguments="}"))
    assert b'"id":"call_chatcmpl-7_0","type":"function","function":{"name":"f"' in first
    assert b'"id"' not in again.split(b'"choices"')[1]
