"""``GET /metrics``: scraped from the running gateway and checked against what happened."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from slicewise.outcomes import load_outcomes
from slicewise.routing import artifact
from slicewise.routing.train import Settings, train
from tests.conftest import write_jsonl
from tests.fakes.upstream import FakeUpstream, ok, status
from tests.gateway.test_cascade_live import NAMES, QUESTION, TARGET, UPSTREAM
from tests.routing.test_cascade import cascade_rows

HI = [{"role": "user", "content": "hi there"}]
PAIR = {
    "pair": {
        "target": "0.5",
        "candidates": ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"],
        "fallback": ["anthropic/claude-3-5-haiku-latest"],
    }
}
OPENAI = "openai.chat"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Any) -> Samples:
    reply = httpx.get(server.url + "/metrics", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == CONTENT_TYPE_LATEST
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the ``name`` samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and wanted <= got)


def chat(server: Any, model: str, stream: bool = False) -> httpx.Response:
    body = {"model": model, "messages": HI, "stream": stream}
    return httpx.post(server.url + "/v1/chat/completions", json=body, timeout=20)


def test_metrics_match_the_ledger(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(routes=PAIR, server={"retries": 0, "deadline": 6, "attempt_timeout": 2})
    assert chat(server, "openai/gpt-4o").status_code == 200
    fake_upstream.script(status(500), model="gpt-4o-mini")
    fell_back = chat(server, "pair")
    assert fell_back.headers["x-slicewise-model"] == "anthropic/claude-3-5-haiku-latest"
    fake_upstream.script(status(500), model="gpt-4o")
    assert chat(server, "openai/gpt-4o").status_code == 502
    streamed = chat(server, "openai/gpt-4o-mini", stream=True)
    assert streamed.status_code == 200 and "x-slicewise-cost-usd=" in streamed.text
    assert chat(server, "no-such-model").status_code == 404

    samples = scrape(server)
    rows = server.gateway.recorder.ledger.transactions(100)
    assert len(rows) == 5 == total(samples, "slicewise_requests_total")

    requests = {
        (("route", "explicit"), ("model", "openai/gpt-4o"), ("status", "200")): 1,
        (("route", "pair"), ("model", "anthropic/claude-3-5-haiku-latest"), ("status", "200")): 1,
        (("route", "explicit"), ("model", ""), ("status", "502")): 1,
        (("route", "explicit"), ("model", "openai/gpt-4o-mini"), ("status", "200")): 1,
        (("route", ""), ("model", ""), ("status", "404")): 1,
    }
    for labels, count in requests.items():
        assert total(samples, "slicewise_requests_total", endpoint=OPENAI, **dict(labels)) == count

    fallbacks = {
        ("pair", "openai/gpt-4o-mini", "UpstreamStatus"): 1,
        ("explicit", "openai/gpt-4o", "UpstreamStatus"): 1,
    }
    for (route, model, error), count in fallbacks.items():
        got = total(samples, "slicewise_fallbacks_total", route=route, model=model, error=error)
        assert got == count
    assert total(samples, "slicewise_fallbacks_total") == 2

    assert total(samples, "slicewise_route_decisions_total", route="pair") == 1
    assert total(samples, "slicewise_route_decisions_total", model="openai/gpt-4o-mini") == 2
    assert total(samples, "slicewise_route_decisions_total", model="openai/gpt-4o") == 2

    for direction in ("input", "output"):
        column = f"{direction}_tokens"
        for model in {r["model"] for r in rows if r["model"]}:
            spent = sum(r[column] for r in rows if r["model"] == model)
            assert spent > 0
            got = total(samples, "slicewise_tokens_total", model=model, direction=direction)
            assert got == spent

    for model in {r["model"] for r in rows if r["model"]}:
        paid = sum(Decimal(str(r["cost_usd"])) for r in rows if r["model"] == model)
        got = total(samples, "slicewise_cost_usd_total", model=model)
        assert got == pytest.approx(float(paid), rel=1e-9) and got > 0
    saved_on = sum(Decimal(str(r["baseline_cost_usd"] or 0)) for r in rows)
    baseline = total(samples, "slicewise_baseline_cost_usd_total")
    assert baseline == pytest.approx(float(saved_on), rel=1e-9) and baseline > 0

    durations = total(samples, "slicewise_request_duration_seconds_count", endpoint=OPENAI)
    assert durations == 5
    inf = total(samples, "slicewise_request_duration_seconds_bucket", le="+Inf", route="pair")
    assert inf == 1


def test_anthropic_endpoint_is_its_own_label(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway()
    body = {"model": "anthropic/claude-3-5-haiku-latest", "max_tokens": 50, "messages": HI}
    assert httpx.post(server.url + "/v1/messages", json=body, timeout=20).status_code == 200
    samples = scrape(server)
    assert total(samples, "slicewise_requests_total", endpoint="anthropic.messages") == 1
    assert total(samples, "slicewise_requests_total", endpoint=OPENAI) == 0


def test_breaker_state_is_read_at_scrape_time(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server={"retries": 0})
    assert chat(server, "openai/gpt-4o-mini").status_code == 200
    fake_upstream.script(*[status(500)] * 5, model="gpt-4o")
    for _ in range(5):
        assert chat(server, "openai/gpt-4o").status_code == 502
    samples = scrape(server)
    assert total(samples, "slicewise_breaker_state", model="openai/gpt-4o") == 2  # open
    assert total(samples, "slicewise_breaker_state", model="openai/gpt-4o-mini") == 0  # closed
    assert chat(server, "openai/gpt-4o").status_code == 503
    samples = scrape(server)
    # refused while planning, before a route was settled: no route, no model
    assert total(samples, "slicewise_requests_total", status="503", route="", model="") == 1
    assert total(samples, "slicewise_fallbacks_total", model="openai/gpt-4o") == 5


def test_each_gateway_counts_its_own(gateway, fake_upstream: FakeUpstream) -> None:
    first, second = gateway(), gateway()  # one ledger file, but a registry each
    for _ in range(3):
        assert chat(first, "openai/gpt-4o").status_code == 200
    assert chat(second, "openai/gpt-4o").status_code == 200
    assert total(scrape(first), "slicewise_requests_total") == 3
    assert total(scrape(second), "slicewise_requests_total") == 1


@pytest.fixture(scope="module")
def cascade_router(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("metrics-cascade")
    table = load_outcomes(write_jsonl(folder / "fit.jsonl", cascade_rows(600)))
    path = folder / "cascade.safetensors"
    artifact.save(train(table, Settings(kind="cascade", features="tfidf", folds=3)), path)
    return path


def test_a_cascade_counts_every_call(gateway, fake_upstream: FakeUpstream, cascade_router) -> None:
    route = {"router": str(cascade_router), "target": TARGET, "aliases": NAMES}
    server = gateway(routes={"maths": route})
    body = {"model": "maths", "messages": [{"role": "user", "content": QUESTION}]}
    found = httpx.post(server.url + "/v1/route", json=body, timeout=10).json()["stages"]
    assert len(found) >= 2 and len(found[0]) >= 2, f"no two-model first stage: {found}"
    for i, model in enumerate(found[0]):  # they disagree: the cascade escalates
        fake_upstream.script(ok(f'{{"answer": "{40 + 7 * i}"}}'), model=UPSTREAM[model])
    assert httpx.post(server.url + "/v1/chat/completions", json=body, timeout=20).is_success

    samples = scrape(server)
    calls = server.gateway.recorder.ledger.transactions(1)[0]["extra"]["calls"]
    assert total(samples, "slicewise_requests_total", route="maths", status="200") == 1
    for model in found[0]:
        assert total(samples, "slicewise_route_decisions_total", model=model) == 1
    for model in {c["model"] for c in calls}:
        mine = [c for c in calls if c["model"] == model]
        for direction in ("input", "output"):
            spent = sum(c[f"{direction}_tokens"] for c in mine)
            got = total(samples, "slicewise_tokens_total", model=model, direction=direction)
            assert got == spent
        paid = sum(Decimal(c["cost_usd"]) for c in mine)
        got = total(samples, "slicewise_cost_usd_total", route="maths", model=model)
        assert got == pytest.approx(float(paid), rel=1e-9)


def test_no_secret_or_client_text_in_labels(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway()
    assert chat(server, "sk-made-up-model-name-from-a-client").status_code == 404
    text = httpx.get(server.url + "/metrics", timeout=10).text
    assert "sk-" not in text and "hi there" not in text
