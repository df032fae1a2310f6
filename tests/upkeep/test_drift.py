"""Live drift end to end: the fake upstream plays both the served and the reference model."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from sqlalchemy import select

from slicewise.chat import ChatRequest, ChatResponse, Message, ResponseFormat, ToolCall
from slicewise.cli.main import main
from slicewise.config.load import validate
from slicewise.errors import ConfigError
from slicewise.ledger.schema import shadow_comparisons
from slicewise.upkeep import agreement
from slicewise.upkeep.estimate import Estimate, wilson
from tests.fakes.upstream import FakeUpstream, hang, ok
from tests.gateway import conftest as gateway_fixtures
from tests.gateway.test_metrics import scrape, total

gateway = gateway_fixtures.gateway  # the running-gateway fixture (tests/gateway)

MINI, BIG, HAIKU = "openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-latest"


def drift(**changes: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "share": 1.0,
        "reference": BIG,
        "daily_usd": None,
        "min_samples": 3,
        "target": 0.8,
    }
    return settings | changes


def chat(server: Any, text: str = "the answer is 42", model: str = MINI) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    reply = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=20)
    assert reply.status_code == 200
    return reply


def settled(server: Any, route: str, count: int, timeout: float = 15) -> Any:
    """The route's drift state once ``count`` comparisons are done and nothing is in flight."""
    sampler = server.gateway.drift
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = sampler.routes[route]
        if sampler.idle and state.estimate.total + state.errors >= count:
            return state
        time.sleep(0.01)
    raise AssertionError(f"drift did not finish {count} comparisons on {route}")


def test_disagreeing_reference_lowers_quality_and_fires_the_alert(
    gateway: Any,
    fake_upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = gateway(drift=drift())
    fake_upstream.script(*[ok("something else entirely")] * 4, model="gpt-4o")
    with caplog.at_level(logging.WARNING, "slicewise.upkeep.drift"):
        for _ in range(4):
            chat(server)
        state = settled(server, "explicit", 4)
    assert state.estimate.mean == 0.0 and state.alerting
    alerts = [r for r in caplog.records if "drift alert" in r.getMessage()]
    assert len(alerts) == 1 and alerts[0].levelno == logging.WARNING
    assert (
        "route explicit agrees with openai/gpt-4o on 0.000 of 3 sampled" in alerts[0].getMessage()
    )

    samples = scrape(server)
    assert total(samples, "slicewise_drift_alert", route="explicit") == 1
    assert total(samples, "slicewise_drift_quality", route="explicit") == 0
    assert total(samples, "slicewise_drift_margin", route="explicit") == -0.8
    assert total(samples, "slicewise_drift_samples_total", route="explicit") == 4
    assert total(samples, "slicewise_drift_quality_upper", route="explicit") < 0.8
    assert total(samples, "slicewise_drift_cost_usd_total", route="explicit") > 0
    # the shadow calls are not served requests: neither counted nor billed as such
    assert total(samples, "slicewise_requests_total") == 4

    ledger = server.gateway.recorder.ledger
    assert len(ledger.transactions(100)) == 4
    with ledger.engine.connect() as db:
        rows = db.execute(select(shadow_comparisons)).all()
    assert len(rows) == 4
    assert {(r.route, r.served_model, r.reference_model, r.agreement) for r in rows} == {
        ("explicit", MINI, BIG, 0.0)
    }
    # 4 words in, 3 out at $2.5/$10 per Mtok
    assert all(r.cost_usd == Decimal("0.00004") for r in rows)

    url = ledger.engine.url.render_as_string()
    assert main(["report", "--ledger", url, "--drift", "--json"]) == 0
    (route,) = orjson.loads(capsys.readouterr().out)
    assert (route["route"], route["samples"], route["agreement"]) == ("explicit", 4, 0.0)
    assert (route["cost_usd"], route["reference"]) == ("0.00016", BIG)
    assert main(["report", "--ledger", url, "--by", "route"]) == 0
    shown = capsys.readouterr().out
    assert "drift: agreement with the reference model" in shown and "0.000160" in shown


def test_the_drift_report_says_when_there_is_nothing(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from slicewise.ledger import Ledger

    Ledger(f"sqlite:///{tmp_path}/l.db", tmp_path / "journal").close()
    assert main(["report", "--ledger", f"sqlite:///{tmp_path}/l.db", "--drift"]) == 0
    assert "drift: no shadow comparisons in this period" in capsys.readouterr().out


def test_agreeing_reference_keeps_quality_and_no_alert(
    gateway: Any, fake_upstream: FakeUpstream
) -> None:
    server = gateway(drift=drift())
    for _ in range(3):
        chat(server)  # the fake echoes the question: both models answer alike
    state = settled(server, "explicit", 3)
    assert state.estimate.mean == 1.0 and not state.alerting
    assert total(scrape(server), "slicewise_drift_alert", route="explicit") == 0


def test_alert_when_upper_waits_for_the_interval(gateway: Any, fake_upstream: FakeUpstream) -> None:
    server = gateway(drift=drift(alert_when="upper", min_samples=1))
    fake_upstream.script(ok(), ok("no"), ok("no"), ok("no"), model="gpt-4o")  # ok(): agrees
    for _ in range(2):
        chat(server)
    state = settled(server, "explicit", 2)
    assert state.estimate.mean == 0.5 and state.estimate.interval()[1] > 0.8
    assert not state.alerting  # the mean is below 0.8, but it could still be above
    chat(server)
    chat(server)
    state = settled(server, "explicit", 4)
    assert state.estimate.interval()[1] < 0.8 and state.alerting


def test_the_daily_budget_stops_sampling(gateway: Any, fake_upstream: FakeUpstream) -> None:
    # a shadow call costs $0.00005 (4 words in, 4 echoed out): the second passes the cap
    server = gateway(drift=drift(daily_usd="0.00007"))
    for i in range(4):
        chat(server)
        settled(server, "explicit", min(i + 1, 2))
    state = settled(server, "explicit", 2)
    assert state.estimate.total == 2 and state.dropped["budget"] == 2
    assert state.spent == Decimal("0.0001")
    samples = scrape(server)
    assert total(samples, "slicewise_drift_dropped_total", reason="budget") == 2


def test_the_shadow_call_runs_after_the_response(gateway: Any, fake_upstream: FakeUpstream) -> None:
    server = gateway(drift=drift(queue=1, workers=1), server={"attempt_timeout": 4.0})
    fake_upstream.script(hang(), hang(), model="gpt-4o")
    chat(server)  # answered while its shadow call hangs at the reference
    deadline = time.monotonic() + 10
    while fake_upstream.calls["gpt-4o"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    sampler = server.gateway.drift
    assert fake_upstream.calls["gpt-4o"] == 1 and sampler.busy == 1
    chat(server)  # queued behind the hanging one
    chat(server)  # the queue (1) is full: dropped and counted, the client never knows
    assert sampler.routes["explicit"].dropped["queue_full"] == 1
    # the hanging call holds the only worker for its 4 s timeout, so the third request finds
    # the queue full even on a busy machine
    state = settled(server, "explicit", 2, timeout=30)
    assert state.errors == 2 and state.estimate.total == 0  # both timed out, off the path


def test_a_judge_grades_agreement(gateway: Any, fake_upstream: FakeUpstream) -> None:
    server = gateway(drift=drift(compare="judge", judge=HAIKU, min_samples=1))
    fake_upstream.script(ok("7"), model="claude-3-5-haiku-latest")
    chat(server, "what is six times seven")
    state = settled(server, "explicit", 1)
    assert state.estimate.mean == pytest.approx(0.7)
    asked = [r for r in fake_upstream.requests if r.body.get("model") == "claude-3-5-haiku-latest"]
    prompt = asked[-1].body["messages"][-1]["content"]
    assert "what is six times seven" in prompt and "Reference answer" in prompt
    assert state.alerting  # 0.7 < 0.8 with one sample, min_samples 1


def test_the_reference_itself_is_not_sampled(gateway: Any, fake_upstream: FakeUpstream) -> None:
    server = gateway(drift=drift())
    chat(server, model=BIG)
    chat(server)
    state = settled(server, "explicit", 1)
    assert state.estimate.total == 1 and fake_upstream.calls["gpt-4o"] == 2


def test_drift_on_a_route_and_off_elsewhere(gateway: Any, fake_upstream: FakeUpstream) -> None:
    routes = {"auto": {"target": "0.9"}, "pair": {"candidates": [MINI, HAIKU], "target": "0.5"}}
    settings = drift(share=0.0, routes={"pair": {"share": 1.0}})
    server = gateway(routes=routes, drift=settings)
    assert set(server.gateway.drift.routes) == {"pair"}
    chat(server, model="pair")
    chat(server, model="auto")
    assert settled(server, "pair", 1).estimate.total == 1


def stream_chat(server: Any, text: str = "the answer is 42", model: str = MINI) -> str:
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=20) as r:
        assert r.status_code == 200
        return r.read().decode()


def shadow_requests(fake: FakeUpstream, model: str = "gpt-4o") -> list[Any]:
    return [r for r in fake.requests if r.body and r.body.get("model") == model]


def test_streamed_answers_are_sampled(gateway: Any, fake_upstream: FakeUpstream) -> None:
    server = gateway(drift=drift(min_samples=1))
    fake_upstream.script(ok("something else entirely"), model="gpt-4o")
    first = stream_chat(server)
    state = settled(server, "explicit", 1)
    assert state.estimate.mean == 0.0  # the whole streamed answer, compared once
    stream_chat(server)  # the fake echoes the question: the assembled answer agrees
    state = settled(server, "explicit", 2)
    assert state.estimate.total == 2 and state.estimate.mean == 0.5
    assert "[DONE]" in first
    shadows = shadow_requests(fake_upstream)
    assert len(shadows) == 2 and not any(r.body.get("stream") for r in shadows)


def test_a_stream_put_together_keeps_text_tool_calls_and_the_end() -> None:
    from slicewise.chat import StreamEnd, TextDelta, ToolCallDelta, Usage
    from slicewise.upkeep.drift import _EMPTY, Sample, _Answer

    answer = _Answer()
    events = [
        TextDelta("Let me "),
        TextDelta("look."),
        ToolCallDelta(0, id="call_1", name="search", arguments='{"q": '),
        ToolCallDelta(1, id="call_2", name="clock"),
        ToolCallDelta(0, arguments='"weather"}'),
    ]
    for event in events:
        answer.add(event)
    sample = Sample("auto", "req_1", ChatRequest(MINI, (Message("user", "q"),)), MINI, _EMPTY)
    whole = answer.whole(sample, StreamEnd("tool_calls", Usage(3, 4))).response
    assert whole.message.content == "Let me look."
    assert whole.message.tool_calls == (
        ToolCall("call_1", "search", '{"q": "weather"}'),
        ToolCall("call_2", "clock", ""),
    )
    assert (whole.finish_reason, whole.usage, whole.model) == ("tool_calls", Usage(3, 4), MINI)


def test_a_stream_that_is_only_its_end_is_queued_as_it_passes(tmp_path: Any) -> None:
    from slicewise.chat import StreamEnd, StreamEvent
    from slicewise.gateway import catalog as catalogs
    from slicewise.upkeep.drift import Drift
    from tests.gateway.conftest import test_config

    class Nowhere:
        url = "http://127.0.0.1:9"

    raw = test_config(Nowhere(), tmp_path / "l.db", drift=drift())  # type: ignore[arg-type]
    config = validate(raw, {}, "test")

    async def nothing() -> Any:
        return
        yield

    async def relay() -> Any:
        catalog = await catalogs.build(config, {"TEST_KEY": "x"})
        try:
            sampler = Drift(config, catalog, None)
            request = ChatRequest(MINI, (Message("user", "q"),), stream=True)
            end: StreamEvent = StreamEnd("length")
            tapped = sampler.tap("explicit", "req_1", request, MINI, None, end, nothing())
            assert tapped is not None
            assert await tapped.__anext__() == end  # a relay asks no further after the end
            await tapped.aclose()  # type: ignore[attr-defined]
            return sampler.queue.get_nowait()
        finally:
            await catalog.aclose()

    sample = asyncio.run(relay())
    assert sample.response.finish_reason == "length" and sample.response.message.content is None


EMAIL = "jane.doe@example.com"


def policed(gateway: Any, fake: FakeUpstream, rules: list[dict[str, Any]], **drift_changes: Any):
    return gateway(drift=drift(min_samples=1, **drift_changes), policies={"rules": rules})


@pytest.mark.parametrize("stream", [False, True])
def test_a_comparison_sees_placeholders_never_the_values(
    gateway: Any, fake_upstream: FakeUpstream, stream: bool
) -> None:
    redact = [{"name": "mask", "classes": ["confidential"], "action": "redact", "restore": True}]
    server = policed(gateway, fake_upstream, redact, compare="judge", judge=HAIKU)
    fake_upstream.script(ok("9"), model="claude-3-5-haiku-latest")
    text = f"write to {EMAIL} today"
    answer = stream_chat(server, text) if stream else chat(server, text).text
    assert EMAIL in answer  # restored for the client
    state = settled(server, "explicit", 1)
    assert state.estimate.mean == pytest.approx(0.9)
    (reference,) = shadow_requests(fake_upstream)
    (judge,) = shadow_requests(fake_upstream, "claude-3-5-haiku-latest")
    assert EMAIL not in str(reference.body) and "[EMAIL_1]" in str(reference.body)
    assert EMAIL not in str(judge.body) and "[EMAIL_1]" in str(judge.body)


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_the_policies_keep_from_the_reference_is_not_sampled(
    gateway: Any, fake_upstream: FakeUpstream, stream: bool
) -> None:
    only_mini = [{"name": "mini-only", "classes": ["confidential"], "where": {"region": "eu"}}]
    mini = {"name": MINI, "attributes": {"region": "eu"}}
    server = gateway(
        drift=drift(min_samples=1),
        policies={"rules": only_mini},
        models=[mini, {"name": BIG}, {"name": HAIKU}],
    )
    text = f"write to {EMAIL} today"
    stream_chat(server, text) if stream else chat(server, text)
    chat(server)  # public: sampled
    state = settled(server, "explicit", 1)
    assert state.estimate.total == 1 and state.dropped["policy"] == 1
    assert all(EMAIL not in str(r.body) for r in shadow_requests(fake_upstream))
    samples = scrape(server)
    assert total(samples, "slicewise_drift_dropped_total", reason="policy") == 1


def response(text: str | None, calls: tuple[ToolCall, ...] = ()) -> ChatResponse:
    return ChatResponse("id", MINI, Message("assistant", text, calls), "stop")


def test_exact_comparison_ignores_case_space_and_edges() -> None:
    request = ChatRequest(MINI, (Message("user", "q"),))
    assert agreement.compare("exact", request, response(" Paris."), response("paris")) == 1.0
    assert agreement.compare("exact", request, response("Paris"), response("Lyon")) == 0.0


def test_json_comparison_parses_both_sides() -> None:
    asks_json = ChatRequest(
        MINI, (Message("user", "q"),), response_format=ResponseFormat("json_object")
    )
    a, b = response('{"a": 1, "b": [2]}'), response('{"b":[2],"a":1}')
    assert agreement.compare("auto", asks_json, a, b) == 1.0
    assert agreement.compare("auto", ChatRequest(MINI, ()), a, b) == 0.0  # text: exact
    called = (ToolCall("1", "f", '{"x": 1}'),)
    same = (ToolCall("2", "f", '{ "x":1 }'),)
    assert (
        agreement.compare("exact", asks_json, response(None, called), response(None, same)) == 1.0
    )


def test_judge_scores_and_wilson_interval() -> None:
    assert agreement.judge_score(response("8/10")) == 0.8
    assert agreement.judge_score(response("no idea")) is None
    low, high = wilson(0.0, 20)
    assert low == 0.0 and 0.15 < high < 0.17
    estimate = Estimate(window=3)
    for score in (0.0, 1.0, 1.0, 1.0):
        estimate.add(score)
    assert (estimate.mean, estimate.count, estimate.total) == (1.0, 3, 4)


def test_drift_config_errors_name_the_field() -> None:
    base: dict[str, Any] = {
        "providers": {"openai": {"kind": "openai"}},
        "models": [{"name": MINI, "input_usd_per_mtok": 1, "output_usd_per_mtok": 1}],
    }
    with pytest.raises(ConfigError, match=r"drift\.reference: drift samples traffic"):
        validate(base | {"drift": {"share": 0.1}}, {}, "t.yaml")
    with pytest.raises(ConfigError, match=r"drift\.routes\.nope: no route 'nope'"):
        validate(base | {"drift": {"routes": {"nope": {"share": 1}}}}, {}, "t.yaml")
    with pytest.raises(ConfigError, match=r"drift\.reference: model 'openai/x' is not configured"):
        validate(base | {"drift": {"share": 0.1, "reference": "openai/x"}}, {}, "t.yaml")
