"""The fake's files and batches, driven by the official SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anthropic
import httpx2 as httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream, status


@pytest.fixture
def oai(fake_upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_upstream.url + "/v1", api_key="k", max_retries=0) as client:
        yield client


@pytest.fixture
def ant(fake_upstream: FakeUpstream) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake_upstream.url, api_key="k", max_retries=0) as client:
        yield client


def openai_lines(*texts: str) -> bytes:
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
        }
        for i, text in enumerate(texts)
    ]
    return "\n".join(json.dumps(line) for line in lines).encode() + b"\n"


def test_openai_batch_runs_each_line(oai: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(400), model="gpt-4o-mini")
    upload = oai.files.create(file=("in.jsonl", openai_lines("bad", "one", "two")), purpose="batch")
    assert (upload.filename, upload.purpose) == ("in.jsonl", "batch")
    batch = oai.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    batch = oai.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 1)
    assert batch.output_file_id is not None
    assert batch.error_file_id is not None
    results = [json.loads(x) for x in oai.files.content(batch.output_file_id).text.splitlines()]
    answers = {
        r["custom_id"]: r["response"]["body"]["choices"][0]["message"]["content"] for r in results
    }
    assert answers == {"r1": "one", "r2": "two"}
    failed = json.loads(oai.files.content(batch.error_file_id).text)
    assert (failed["custom_id"], failed["response"]["status_code"]) == ("r0", 400)
    assert fake_upstream.calls["gpt-4o-mini"] == 3


def test_openai_batch_can_take_a_while(oai: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.app.batches.delay = 0.2
    upload = oai.files.create(file=("in.jsonl", openai_lines("x")), purpose="batch")
    batch = oai.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "in_progress"
    assert batch.output_file_id is None
    time.sleep(0.25)
    assert oai.batches.retrieve(batch.id).status == "completed"


def test_anthropic_batch(ant: anthropic.Anthropic, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(status(529), model="claude-x")
    requests = [
        {
            "custom_id": f"r{i}",
            "params": {
                "model": "claude-x",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": text}],
            },
        }
        for i, text in enumerate(["overloaded", "hello"])
    ]
    batch = ant.messages.batches.create(requests=requests)
    batch = ant.messages.batches.retrieve(batch.id)
    assert batch.processing_status == "ended"
    assert (batch.request_counts.succeeded, batch.request_counts.errored) == (1, 1)
    results = {r.custom_id: r.result for r in ant.messages.batches.results(batch.id)}
    assert results["r0"].type == "errored"
    assert results["r1"].type == "succeeded"
    assert results["r1"].message.content[0].text == "hello"


def test_anthropic_results_wait_for_the_end(fake_upstream: FakeUpstream) -> None:
    fake_upstream.app.batches.delay = 60
    made = httpx.post(fake_upstream.url + "/v1/messages/batches", json={"requests": []}).json()
    assert made["processing_status"] == "in_progress"
    assert made["results_url"] is None
    results = httpx.get(f"{fake_upstream.url}/v1/messages/batches/{made['id']}/results")
    assert results.status_code == 404
