"""A cascade route live: stage calls in parallel, accept on agreement, escalate when not."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from slicewise.outcomes import load_outcomes
from slicewise.routing import artifact
from slicewise.routing.train import Settings, train
from tests.conftest import write_jsonl
from tests.fakes.upstream import FakeUpstream, ok
from tests.routing.test_cascade import cascade_rows

NAMES = {
    "tiny": "openai/gpt-4o-mini",
    "small": "anthropic/claude-3-5-haiku-latest",
    "large": "openai/gpt-4o",
}
UPSTREAM = {
    "openai/gpt-4o-mini": "gpt-4o-mini",
    "openai/gpt-4o": "gpt-4o",
    "anthropic/claude-3-5-haiku-latest": "claude-3-5-haiku-latest",
}
QUESTION = "Sam has 12 apples and buys 30 more. How many apples does Sam have?"
TARGET = "quality=0.95"
"""The cheapest option of at least this predicted quality is the two-stage cascade at
threshold 0.7, with a margin. A share target sits on a near tie between that cascade and the
small model alone (quality gain and cost gain balance within 1e-4), which float noise between
library versions tips either way."""


@pytest.fixture(scope="module")
def router_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cascade-live")
    table = load_outcomes(write_jsonl(folder / "fit.jsonl", cascade_rows(600)))
    path = folder / "cascade.safetensors"
    artifact.save(train(table, Settings(kind="cascade", features="tfidf", folds=3)), path)
    return path


@pytest.fixture
def server(gateway, router_file: Path):
    return gateway(
        routes={"maths": {"router": str(router_file), "target": TARGET, "aliases": NAMES}}
    )


def stages(server) -> list[list[str]]:
    reply = httpx.post(
        server.url + "/v1/route",
        json={"model": "maths", "messages": [{"role": "user", "content": QUESTION}]},
    )
    assert reply.status_code == 200, reply.text
    found = reply.json()["stages"]
    assert len(found) >= 2, f"the router chose no cascade for this prompt: {reply.json()}"
    return found


def ask(server, stream: bool = False) -> tuple[str, dict[str, str]]:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="maths", messages=[{"role": "user", "content": QUESTION}], stream=stream
        )
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
        else:
            text = raw.parse().choices[0].message.content or ""
    return text, dict(raw.headers)


def test_agreement_is_accepted_after_the_first_stage(server, fake_upstream: FakeUpstream) -> None:
    first = stages(server)[0]
    for model in first:
        fake_upstream.script(ok('{"answer": "42"}'), model=UPSTREAM[model])
    text, headers = ask(server)
    assert text == '{"answer": "42"}'
    assert headers["x-slicewise-calls"] == "+".join(first)
    assert headers["x-slicewise-model"] in first
    row = server.gateway.recorder.ledger.transactions(1)[0]
    assert [c["model"] for c in row["extra"]["calls"]] == first
    assert row["router"] == "cascade"


def test_disagreement_escalates_and_every_call_is_paid(server, fake_upstream: FakeUpstream) -> None:
    found = stages(server)
    for i, model in enumerate(found[0]):
        fake_upstream.script(ok(f'{{"answer": "{40 + 7 * i}"}}'), model=UPSTREAM[model])
    final = found[-1][0]
    fake_upstream.script(ok('{"answer": "42"}'), model=UPSTREAM[final])
    text, headers = ask(server, stream=True)
    assert len(found[0]) >= 2, "the learned first stage has one model: nothing to disagree"
    assert text == '{"answer": "42"}'
    assert headers["x-slicewise-calls"].count(";") == len(found) - 1
    row = server.gateway.recorder.ledger.transactions(1)[0]
    calls = row["extra"]["calls"]
    assert {c["model"] for c in calls} == {m for stage in found for m in stage}
    assert row["cost_usd"] == sum(Decimal(c["cost_usd"]) for c in calls)


@pytest.mark.parametrize("stream", [False, True])
def test_a_cascaded_answer_is_sampled_for_drift(
    gateway, router_file: Path, fake_upstream: FakeUpstream, stream: bool
) -> None:
    from tests.upkeep.test_drift import settled

    route = {"router": str(router_file), "target": TARGET, "aliases": NAMES}
    reference = "openai/gpt-4o"
    drift = {"share": 1.0, "reference": reference, "daily_usd": None, "min_samples": 1}
    server = gateway(routes={"maths": route}, drift=drift)
    first = [m for m in stages(server)[0] if m != reference]
    assert first, "the first stage is the reference itself: nothing to compare"
    for model in stages(server)[0]:
        fake_upstream.script(ok('{"answer": "42"}'), model=UPSTREAM[model])
    fake_upstream.script(ok('{"answer": "41"}'), model=UPSTREAM[reference])
    text, headers = ask(server, stream=stream)
    assert text == '{"answer": "42"}' and headers["x-slicewise-model"] != reference
    state = settled(server, "maths", 1)
    assert state.estimate.total == 1 and state.estimate.mean == 0.0
