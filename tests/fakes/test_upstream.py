"""The fake upstream over plain HTTP: answers, stream framing, scripting, faults, stopping."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from tests.fakes.upstream import (
    FakeUpstream,
    ToolCall,
    cut,
    delay,
    fingerprint,
    hang,
    malformed,
    ok,
    spawn,
    stall,
    status,
)

OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"
TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]


def chat(text: str = "hello there world", model: str = "gpt-4o", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def post(fake: FakeUpstream, path: str, body: dict[str, Any], **options: Any) -> httpx.Response:
    return httpx.post(fake.url + path, json=body, **options)


def frames(response: httpx.Response) -> list[str]:
    return [
        line.removeprefix("data: ")
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


def read_frames(
    fake: FakeUpstream, path: str, body: dict[str, Any], timeout: float = 5.0
) -> tuple[list[str], Exception | None]:
    """The data lines read before the stream ended, and the error that ended it, if any."""
    seen: list[str] = []
    try:
        with httpx.stream("POST", fake.url + path, json=body, timeout=timeout) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    seen.append(line.removeprefix("data: "))
    except httpx.TransportError as error:
        return seen, error
    return seen, None


def test_openai_answer_echoes_the_last_user_message(fake_upstream: FakeUpstream) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "say hi"}]},
        ],
    }
    answer = post(fake_upstream, OPENAI, body).json()
    assert answer["object"] == "chat.completion"
    assert answer["model"] == "gpt-4o"
    assert answer["choices"][0]["message"] == {
        "role": "assistant",
        "content": "say hi",
        "refusal": None,
    }
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"] == {"prompt_tokens": 6, "completion_tokens": 2, "total_tokens": 8}


def test_requests_are_recorded_with_credentials_redacted(fake_upstream: FakeUpstream) -> None:
    post(fake_upstream, OPENAI, chat(), headers={"authorization": "Bearer sk-secret"})
    post(fake_upstream, ANTHROPIC, chat(model="claude-x"), headers={"x-api-key": "sk-ant"})
    first, second = fake_upstream.requests
    assert (first.method, first.path, first.model, first.stream) == (
        "POST",
        OPENAI,
        "gpt-4o",
        False,
    )
    assert first.body == chat()
    assert first.headers["authorization"] == fingerprint("Bearer sk-secret")
    assert "sk-secret" not in repr(first)
    assert second.headers["x-api-key"] == fingerprint("sk-ant")
    assert fake_upstream.calls == {"gpt-4o": 1, "claude-x": 1}


def test_openai_stream_ends_with_usage_then_done(fake_upstream: FakeUpstream) -> None:
    body = chat(stream=True, stream_options={"include_usage": True})
    response = post(fake_upstream, OPENAI, body)
    assert response.headers["content-type"] == "text/event-stream"
    data = frames(response)
    assert data[-1] == "[DONE]"
    chunks = [orjson.loads(x) for x in data[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text == "hello there world"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_openai_stream_without_include_usage_has_no_usage(fake_upstream: FakeUpstream) -> None:
    data = frames(post(fake_upstream, OPENAI, chat(stream=True)))
    chunks = [orjson.loads(x) for x in data[:-1]]
    assert all("usage" not in c and c["choices"] for c in chunks)


def test_max_tokens_truncates_and_says_so(fake_upstream: FakeUpstream) -> None:
    answer = post(fake_upstream, OPENAI, chat("a b c d", max_completion_tokens=2)).json()
    assert answer["choices"][0]["message"]["content"] == "a b"
    assert answer["choices"][0]["finish_reason"] == "length"
    message = post(fake_upstream, ANTHROPIC, chat("a b c d", max_tokens=3)).json()
    assert message["content"][0]["text"] == "a b c"
    assert message["stop_reason"] == "max_tokens"


def test_openai_tool_call_only_when_the_request_offers_tools(fake_upstream: FakeUpstream) -> None:
    call = ToolCall("weather", {"city": "Paris"})
    fake_upstream.script(ok(tool_call=call), ok(tool_call=call))
    answer = post(fake_upstream, OPENAI, chat(tools=TOOLS)).json()
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    function = choice["message"]["tool_calls"][0]["function"]
    assert function["name"] == "weather"
    assert orjson.loads(function["arguments"]) == {"city": "Paris"}
    plain = post(fake_upstream, OPENAI, chat("no tools")).json()
    assert plain["choices"][0]["message"]["content"] == "no tools"


def test_openai_streamed_tool_call_arrives_in_deltas(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=ToolCall("weather", {"city": "Paris", "unit": "C"})))
    data = frames(post(fake_upstream, OPENAI, chat(tools=TOOLS, stream=True)))
    deltas = [orjson.loads(x)["choices"][0]["delta"] for x in data[:-1]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["function"]["name"] == "weather"
    assert calls[0]["id"].startswith("call_")
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert len(calls) > 2
    assert orjson.loads(arguments) == {"city": "Paris", "unit": "C"}


def test_anthropic_message_and_its_stream(fake_upstream: FakeUpstream) -> None:
    body = chat("hi you", model="claude-x", max_tokens=100, system="be brief")
    message = post(fake_upstream, ANTHROPIC, body).json()
    assert message["type"] == "message"
    assert message["content"] == [{"type": "text", "text": "hi you"}]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {"input_tokens": 4, "output_tokens": 2}
    response = post(fake_upstream, ANTHROPIC, {**body, "stream": True})
    events = [
        x.removeprefix("event: ") for x in response.text.splitlines() if x.startswith("event: ")
    ]
    assert events == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [orjson.loads(x) for x in frames(response)]
    assert [d["delta"]["text"] for d in data if d["type"] == "content_block_delta"] == [
        "hi",
        " you",
    ]
    assert data[-2]["delta"]["stop_reason"] == "end_turn"
    assert data[-2]["usage"] == {"output_tokens": 2}


def test_anthropic_tool_use_streams_input_json(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok(tool_call=ToolCall("weather", {"city": "Paris"})))
    tools = [{"name": "weather", "input_schema": {"type": "object"}}]
    body = chat(model="claude-x", max_tokens=100, tools=tools, stream=True)
    data = [orjson.loads(x) for x in frames(post(fake_upstream, ANTHROPIC, body))]
    assert data[1]["content_block"]["type"] == "tool_use"
    assert data[1]["content_block"]["name"] == "weather"
    parts = [d["delta"]["partial_json"] for d in data if d["type"] == "content_block_delta"]
    assert orjson.loads("".join(parts)) == {"city": "Paris"}
    assert data[-2]["delta"]["stop_reason"] == "tool_use"


def test_models_in_either_shape(fake_upstream: FakeUpstream) -> None:
    openai = httpx.get(fake_upstream.url + "/v1/models").json()
    assert openai["object"] == "list"
    assert {"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "fake"} in openai["data"]
    anthropic = httpx.get(
        fake_upstream.url + "/v1/models", headers={"anthropic-version": "2023-06-01"}
    ).json()
    assert anthropic["has_more"] is False
    assert [m["type"] for m in anthropic["data"]] == ["model"] * len(anthropic["data"])
    assert httpx.get(fake_upstream.url + "/v1/models/gpt-4o").json()["id"] == "gpt-4o"
    assert httpx.get(fake_upstream.url + "/v1/models/nope").status_code == 404


def test_scripts_per_model_come_before_shared_ones(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(ok("shared"))
    fake_upstream.script(ok("mine"), model="gpt-4o")
    texts = [
        post(fake_upstream, OPENAI, chat("echo", model=m)).json()["choices"][0]["message"][
            "content"
        ]
        for m in ("gpt-4o", "gpt-4o", "other", "x")
    ]
    assert texts == ["mine", "shared", "echo", "echo"]
    fake_upstream.default = status(503)
    assert post(fake_upstream, OPENAI, chat()).status_code == 503


def test_status_with_retry_after_in_each_error_shape(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(429, retry_after=1.5), status(529), status(500, body="oops"))
    limited = post(fake_upstream, OPENAI, chat())
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1.5"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    overloaded = post(fake_upstream, ANTHROPIC, chat(model="claude-x", max_tokens=5))
    assert overloaded.status_code == 529
    assert overloaded.json() == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "scripted status 529"},
    }
    raw = post(fake_upstream, OPENAI, chat(stream=True))
    assert (raw.status_code, raw.text) == (500, "oops")


def test_malformed_answers_are_not_json(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(malformed(), malformed())
    response = post(fake_upstream, OPENAI, chat())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    data = frames(post(fake_upstream, ANTHROPIC, chat(model="c", max_tokens=5, stream=True)))
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(data[0])


def test_cut_stream_closes_after_n_chunks(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(cut(after_chunks=2))
    seen, error = read_frames(fake_upstream, OPENAI, chat(stream=True))
    assert len(seen) == 2
    assert isinstance(error, httpx.RemoteProtocolError)


def test_cut_without_stream_sends_half_a_body(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(cut())
    with pytest.raises(httpx.RemoteProtocolError):
        post(fake_upstream, ANTHROPIC, chat(model="claude-x", max_tokens=5))


def test_cut_never_sends_the_terminal_event(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(cut(after_chunks=1000))
    body = chat(model="claude-x", max_tokens=5, stream=True)
    seen, error = read_frames(fake_upstream, ANTHROPIC, body)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert seen
    assert "message_stop" not in seen[-1]


def test_stall_mid_stream_then_go_on(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(stall(0.5, after_chunks=2), stall(0.2, after_chunks=2))
    seen, error = read_frames(fake_upstream, OPENAI, chat(stream=True), timeout=0.2)
    assert isinstance(error, httpx.ReadTimeout)
    assert len(seen) == 2
    started = time.monotonic()
    seen, error = read_frames(fake_upstream, OPENAI, chat(stream=True))
    assert error is None
    assert seen[-1] == "[DONE]"
    assert time.monotonic() - started >= 0.2


def test_delay_comes_before_the_scripted_answer(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(delay(0.2), delay(0.1, then=status(500)))
    started = time.monotonic()
    assert post(fake_upstream, OPENAI, chat()).status_code == 200
    assert post(fake_upstream, OPENAI, chat()).status_code == 500
    assert time.monotonic() - started >= 0.3


def test_latency_applies_to_every_chat_call(fake_upstream: FakeUpstream) -> None:
    fake_upstream.latency_ms = 100
    started = time.monotonic()
    post(fake_upstream, OPENAI, chat())
    post(fake_upstream, ANTHROPIC, chat(model="c", max_tokens=4))
    assert time.monotonic() - started >= 0.2


def test_hang_never_answers(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(hang())
    with pytest.raises(httpx.ReadTimeout):
        post(fake_upstream, OPENAI, chat(), timeout=0.2)
    assert post(fake_upstream, OPENAI, chat()).status_code == 200


def test_stopping_answers_a_hanging_call_with_503() -> None:
    fake = FakeUpstream().start()
    fake.script(hang())
    answers: list[httpx.Response] = []
    client = threading.Thread(target=lambda: answers.append(post(fake, OPENAI, chat())))
    client.start()
    while not fake.requests:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    client.join(timeout=5)
    assert time.monotonic() - started < 2
    assert [a.status_code for a in answers] == [503]


def test_stops_cleanly_and_frees_its_port() -> None:
    before = set(threading.enumerate())
    with FakeUpstream() as fake:
        assert post(fake, OPENAI, chat()).status_code == 200
        url = fake.url
    assert set(threading.enumerate()) <= before
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/models")


def test_unknown_routes_and_bodies_without_a_model(fake_upstream: FakeUpstream) -> None:
    missing = httpx.get(fake_upstream.url + "/v2/nothing")
    assert missing.status_code == 404
    assert "no route" in missing.json()["error"]["message"]
    bad = httpx.post(fake_upstream.url + OPENAI, content=b"not json")
    assert bad.status_code == 400
    assert fake_upstream.requests[-1].body is None


def test_runs_as_a_subprocess() -> None:
    with spawn(models=["m1", "m2"]) as url:
        listed = httpx.get(url + "/v1/models").json()
        assert [m["id"] for m in listed["data"]] == ["m1", "m2"]
        answer = httpx.post(url + OPENAI, json=chat("pong", model="m1")).json()
        assert answer["choices"][0]["message"]["content"] == "pong"
