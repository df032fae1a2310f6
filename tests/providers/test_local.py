"""The local slice against the real SmolLM2-135M model: no mocks, a few tokens per test."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slicewise.chat import (
    ChatRequest,
    Message,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Tool,
)
from slicewise.errors import ConfigError, RequestError, UpstreamTimeout

pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (see docs/local-slice.md)"
)

from slicewise.providers.local import LocalProvider, available, default_model_path

MODEL = "smollm2-135m-instruct"
# At temperature 0 the model lists "1. 1", "2. 2", ... for 121 tokens, then stops.
NUMBERS = "Write the numbers from 1 to 500, one per line."
# At temperature 0 the model repeats "Hello," until max_tokens: 1,500 tokens take about 15 s.
ENDLESS = "Repeat the word 'hello' forever."


def ask(text: str, **fields: Any) -> ChatRequest:
    return ChatRequest(
        model=f"local/{MODEL}", messages=(Message("user", text),), temperature=0.0, **fields
    )


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    local = LocalProvider()
    asyncio.run(local.load())
    yield local
    asyncio.run(local.aclose())


def collect(
    provider: LocalProvider, request: ChatRequest, timeout: float = 10.0
) -> list[StreamEvent]:
    async def run() -> list[StreamEvent]:
        return [event async for event in provider.stream(MODEL, request, timeout)]

    return asyncio.run(run())


def test_the_default_model_is_found_without_importing_its_package() -> None:
    path = default_model_path()
    assert path is not None
    assert path.suffix == ".gguf"
    assert available()


def test_it_serves_one_model(provider: LocalProvider) -> None:
    assert asyncio.run(provider.models()) == [MODEL]
    with pytest.raises(RequestError, match="does not exist") as caught:
        asyncio.run(provider.complete("gpt-4o", ask("Hi"), 10.0))
    assert caught.value.status == 404


def test_complete_answers_with_usage(provider: LocalProvider) -> None:
    response = asyncio.run(
        provider.complete(MODEL, ask("What is the capital of France?", max_tokens=16), 10.0)
    )
    assert response.model == f"local/{MODEL}"
    assert response.message.role == "assistant"
    assert response.message.content
    assert response.usage is not None
    assert response.usage.input_tokens > 5
    assert 0 < response.usage.output_tokens <= 16


def test_stream_yields_deltas_then_one_end(provider: LocalProvider) -> None:
    events = collect(provider, ask(NUMBERS, max_tokens=8))
    *deltas, end = events
    assert deltas
    assert all(isinstance(event, TextDelta) and event.text for event in deltas)
    assert isinstance(end, StreamEnd)
    assert end.finish_reason == "length"
    whole = asyncio.run(provider.complete(MODEL, ask(NUMBERS, max_tokens=8), 10.0))
    assert end.usage == whole.usage
    assert "".join(e.text for e in deltas if isinstance(e, TextDelta)) == whole.message.content


def test_max_tokens_ends_with_length(provider: LocalProvider) -> None:
    response = asyncio.run(provider.complete(MODEL, ask(NUMBERS, max_tokens=4), 10.0))
    assert response.finish_reason == "length"
    assert response.usage is not None
    assert response.usage.output_tokens == 4


def test_a_stop_sequence_ends_with_stop(provider: LocalProvider) -> None:
    response = asyncio.run(provider.complete(MODEL, ask(NUMBERS, max_tokens=32, stop=("3",)), 10.0))
    assert response.finish_reason == "stop"
    assert response.message.content is not None
    assert "2" in response.message.content
    assert "3" not in response.message.content


def test_the_model_ending_its_turn_is_stop_in_both_modes(provider: LocalProvider) -> None:
    request = ask("Reply with the single word: yes", max_tokens=32)
    response = asyncio.run(provider.complete(MODEL, request, 10.0))
    end = collect(provider, request)[-1]
    assert response.finish_reason == "stop"
    assert end == StreamEnd("stop", response.usage)


def test_json_object_output_is_json(provider: LocalProvider) -> None:
    request = ask(
        'Give a JSON object with the key "city" set to Paris.',
        max_tokens=32,
        response_format=ResponseFormat("json_object"),
    )
    response = asyncio.run(provider.complete(MODEL, request, 10.0))
    assert response.finish_reason == "stop"
    assert isinstance(json.loads(response.message.content or ""), dict)


def test_a_json_schema_shapes_the_output(provider: LocalProvider) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    request = ask(
        "Which city is the capital of France?",
        max_tokens=32,
        response_format=ResponseFormat("json_schema", schema=schema),
    )
    response = asyncio.run(provider.complete(MODEL, request, 10.0))
    assert isinstance(json.loads(response.message.content or "")["city"], str)


def test_the_event_loop_runs_while_the_model_generates(provider: LocalProvider) -> None:
    async def run() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await provider.complete(MODEL, ask(ENDLESS, max_tokens=48), 10.0)
        ticker.cancel()
        return ticks

    # 48 tokens take about half a second; a blocked loop would not tick at all.
    assert asyncio.run(run()) >= 5


def test_each_call_logs_one_line_without_text(
    provider: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="slicewise.providers.local")
    asyncio.run(provider.complete(MODEL, ask("Secret words here", max_tokens=2), 10.0))
    collect(provider, ask("Secret words here", max_tokens=2))
    assert len(caplog.messages) == 2
    for line in caplog.messages:
        assert f"provider=local model={MODEL} status=ok" in line
        assert "output_tokens=2" in line
        assert "Secret" not in line


def test_tools_are_refused(provider: LocalProvider) -> None:
    request = ask("What is the weather in Paris?", tools=(Tool("weather"),))
    with pytest.raises(RequestError, match="does not support tools") as caught:
        asyncio.run(provider.complete(MODEL, request, 10.0))
    assert caught.value.param == "tools"
    with pytest.raises(RequestError, match="does not support tools"):
        collect(provider, request)


def test_a_prompt_longer_than_the_context_is_refused(provider: LocalProvider) -> None:
    with pytest.raises(RequestError, match="context window") as caught:
        asyncio.run(provider.complete(MODEL, ask("word " * 3000), 10.0))
    assert caught.value.code == "context_length_exceeded"


def test_a_consumer_that_stops_listening_stops_the_generation(provider: LocalProvider) -> None:
    async def run() -> float:
        events = provider.stream(MODEL, ask(ENDLESS, max_tokens=1500), 10.0)
        received = [await anext(events) for _ in range(3)]
        assert all(isinstance(event, TextDelta) for event in received)
        await events.aclose()
        started = time.monotonic()
        # The worker is single: this call starts only once the abandoned one has stopped.
        await provider.complete(MODEL, ask("Hi", max_tokens=1), 10.0)
        return time.monotonic() - started

    assert asyncio.run(run()) < 1.0


def test_a_timeout_raises_and_frees_the_worker(provider: LocalProvider) -> None:
    async def run() -> float:
        with pytest.raises(UpstreamTimeout):
            await provider.complete(MODEL, ask(ENDLESS, max_tokens=1500), 0.3)
        started = time.monotonic()
        await provider.complete(MODEL, ask("Hi", max_tokens=1), 10.0)
        return time.monotonic() - started

    assert asyncio.run(run()) < 1.0


def test_a_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.gguf"
    with pytest.raises(ConfigError, match="no such GGUF file"):
        LocalProvider(model_path=missing)
