"""Deferred mode against the fake's OpenAI and Anthropic batch endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from slicewise.batch import api
from slicewise.config import Config
from tests.batch.conftest import ENV, read_lines, request_line, write_lines
from tests.fakes.upstream import FakeUpstream, status


def run_deferred(source: Path, out: Path, config: Config) -> dict[str, object]:
    options = api.Options(source, out, live=False)
    return asyncio.run(api.run_job(options, config, deferred=True, poll=0.05, env=ENV))


def test_deferred_collects_both_providers_at_half_price(
    config: Callable[..., Config], tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.app.batches.delay = 0.2
    fake_upstream.script(status(400), model="gpt-4o-mini")
    lines = [request_line(f"o{i}", f"hello {i}", "openai/gpt-4o-mini") for i in range(3)]
    lines += [
        request_line(f"a{i}", f"hi {i}", "anthropic/claude-3-5-haiku-latest") for i in range(2)
    ]
    source, out = write_lines(tmp_path / "in.jsonl", lines), tmp_path / "out.jsonl"
    found = run_deferred(source, out, config())
    assert (found["requests"], found["failed"]) == (4, 1)
    answers = {x["custom_id"]: x for x in read_lines(out)}
    assert set(answers) == {"o1", "o2", "a0", "a1"}
    assert answers["a1"]["response"]["body"]["choices"][0]["message"]["content"] == "hi 1"
    one = answers["o1"]["slicewise"]
    usage = answers["o1"]["response"]["body"]["usage"]
    full = usage["prompt_tokens"] * Decimal("0.15") + usage["completion_tokens"] * Decimal("0.6")
    assert Decimal(one["cost_usd"]) == full / 1_000_000 / 2
    paths = [r.path for r in fake_upstream.requests]
    assert "/v1/files" in paths and "/v1/batches" in paths and "/v1/messages/batches" in paths
    assert not any(p.endswith("/chat/completions") or p == "/v1/messages" for p in paths)
    again = run_deferred(source, out, config())
    assert again["requests"] == 5 and again["failed"] == 0


def test_deferred_reserves_max_cost_before_submitting(
    config: Callable[..., Config], tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    lines = [request_line(f"o{i}", f"hello {i}", "openai/gpt-4o") for i in range(10)]
    source, out = write_lines(tmp_path / "in.jsonl", lines), tmp_path / "out.jsonl"
    # gpt-4o: 4,096 output tokens reserved at $10/M, halved: about $0.02 a request
    options = api.Options(source, out, max_cost=Decimal("0.05"), live=False)
    found = asyncio.run(api.run_job(options, config(), deferred=True, poll=0.05, env=ENV))
    assert (found["requests"], found["not_run"]) == (2, 8)
    assert sum(fake_upstream.calls.values()) == 2
