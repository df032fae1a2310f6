"""The official anthropic SDK against the running gateway, with a scripted fake upstream."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.upstream import FakeUpstream, ToolCall, ok


@pytest.fixture
def client(gateway):
    server = gateway()
    with anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0) as c:
        yield c


def test_messages_via_auto(client) -> None:
    raw = client.messages.with_raw_response.create(
        model="auto", max_tokens=64, messages=[{"role": "user", "content": "Hello there"}]
    )
    message = raw.parse()
    assert message.content[0].text == "Hello there"
    assert message.model == raw.headers["x-slicewise-model"]
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0


def test_anthropic_client_reaches_an_openai_model(client, fake_upstream: FakeUpstream) -> None:
    message = client.messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=64,
        system="be brief",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert message.content[0].text == "hi"
    sent = fake_upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"][0] == {"role": "system", "content": "be brief"}


def test_streaming(client) -> None:
    with client.messages.stream(
        model="anthropic/claude-3-5-haiku-latest",
        max_tokens=64,
        messages=[{"role": "user", "content": "stream me"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "stream me"
    assert final.usage.output_tokens > 0


def test_streaming_from_an_openai_model(client) -> None:
    with client.messages.stream(
        model="openai/gpt-4o-mini", max_tokens=64, messages=[{"role": "user", "content": "cross"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "cross" and final.stop_reason == "end_turn"


def test_tool_use_both_ways(client, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=ToolCall("lookup", {"q": "slicewise"})))
    message = client.messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=64,
        tools=[
            {
                "name": "lookup",
                "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            }
        ],
        messages=[{"role": "user", "content": "look it up"}],
    )
    block = message.content[-1]
    assert block.type == "tool_use" and block.name == "lookup" and block.input == {"q": "slicewise"}
    assert message.stop_reason == "tool_use"


def test_errors_have_the_anthropic_shape(client) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(
            model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["type"] == "error"
    assert "nope" in caught.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model="auto", max_tokens=-1, messages=[{"role": "user", "content": "x"}]
        )
