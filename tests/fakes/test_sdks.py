"""The official SDKs accept the fake as their upstream: answers, streams, tools, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx2 as httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream, ToolCall, cut, malformed, ok, stall, status

USER = [{"role": "user", "content": "hello there"}]
WEATHER = ToolCall("weather", {"city": "Paris"})


@pytest.fixture
def oai(fake_upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=fake_upstream.url + "/v1", api_key="sk-test", max_retries=0
    ) as client:
        yield client


@pytest.fixture
def ant(fake_upstream: FakeUpstream) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=fake_upstream.url, api_key="sk-ant-test", max_retries=0
    ) as client:
        yield client


def test_openai_completion(oai: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    answer = oai.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert answer.choices[0].message.content == "hello there"
    assert answer.usage is not None
    assert answer.usage.total_tokens == 4
    assert fake_upstream.requests[0].headers["authorization"].startswith("redacted:")


def test_openai_stream_with_usage(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello there"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 2


def test_openai_tool_call(oai: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=WEATHER), ok(tool_call=WEATHER))
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    answer = oai.chat.completions.create(model="gpt-4o", messages=USER, tools=tools)
    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    with oai.chat.completions.stream(model="gpt-4o", messages=USER, tools=tools) as stream:
        final = stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert streamed.function.name == "weather"
    assert json.loads(streamed.function.arguments) == {"city": "Paris"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_openai_models(oai: openai.OpenAI) -> None:
    assert "gpt-4o" in [m.id for m in oai.models.list()]


def test_openai_errors(oai: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(429, retry_after=2), status(500), status(401))
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(model="gpt-4o", messages=USER)
    assert limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model="gpt-4o", messages=USER)
    with pytest.raises(openai.AuthenticationError):
        oai.chat.completions.create(model="gpt-4o", messages=USER)


def test_openai_retries_honour_retry_after(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(429, retry_after=0), ok("second time"))
    with openai.OpenAI(base_url=fake_upstream.url + "/v1", api_key="k", max_retries=1) as client:
        answer = client.chat.completions.create(model="gpt-4o", messages=USER)
    assert answer.choices[0].message.content == "second time"
    assert fake_upstream.calls["gpt-4o"] == 2


def test_openai_faults(oai: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(malformed(), cut(after_chunks=2), stall(1.0))
    with pytest.raises(json.JSONDecodeError):
        oai.chat.completions.create(model="gpt-4o", messages=USER)
    stream = oai.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.2).chat.completions.create(model="gpt-4o", messages=USER)


def test_anthropic_message(ant: anthropic.Anthropic, fake_upstream: FakeUpstream) -> None:
    message = ant.messages.create(model="claude-x", max_tokens=64, messages=USER)
    assert message.content[0].text == "hello there"
    assert message.usage.output_tokens == 2
    headers = fake_upstream.requests[0].headers
    assert "sk-ant-test" not in repr(headers)
    assert headers.get("x-api-key", headers.get("authorization", "")).startswith("redacted:")


def test_anthropic_stream(ant: anthropic.Anthropic) -> None:
    with ant.messages.stream(model="claude-x", max_tokens=64, messages=USER) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "hello there"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 2


def test_anthropic_tool_use_streamed(ant: anthropic.Anthropic, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=WEATHER))
    tools = [{"name": "weather", "input_schema": {"type": "object"}}]
    with ant.messages.stream(
        model="claude-x",
        max_tokens=64,
        messages=USER,
        tools=tools,
    ) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("weather", {"city": "Paris"})
    assert final.stop_reason == "tool_use"


def test_anthropic_models(ant: anthropic.Anthropic) -> None:
    assert "claude-sonnet-4-5" in [m.id for m in ant.models.list()]


def test_anthropic_errors_and_faults(ant: anthropic.Anthropic, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(529), status(429, retry_after=1), malformed(), cut(3))
    with pytest.raises(anthropic.OverloadedError):
        ant.messages.create(model="c", max_tokens=5, messages=USER)
    with pytest.raises(anthropic.RateLimitError):
        ant.messages.create(model="c", max_tokens=5, messages=USER)
    with pytest.raises(json.JSONDecodeError):
        ant.messages.create(model="c", max_tokens=5, messages=USER)
    with (
        pytest.raises(httpx.RemoteProtocolError),
        ant.messages.stream(model="c", max_tokens=5, messages=USER) as stream,
    ):
        list(stream.text_stream)
