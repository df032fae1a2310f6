"""A batch job against the fake upstream: its configuration and input files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from slicewise.config import Config
from slicewise.config.load import validate
from tests.fakes.fixtures import fake_upstream, fake_upstream_session
from tests.fakes.upstream import FakeUpstream

__all__ = ["fake_upstream", "fake_upstream_session"]

ENV = {"TEST_KEY": "sk-test-not-a-real-key-1234567890"}
TEXTS = [
    "Translate 'the cat is on the table' into French.",
    "What is the capital of Kenya? One word.",
    "Prove that the square root of 2 is irrational, step by step.",
    "Write a Python function that merges two sorted lists.",
]


def batch_config(fake: FakeUpstream, tmp: Path, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "providers": {
            "openai": {"kind": "openai", "base_url": fake.url + "/v1", "key_env": "TEST_KEY"},
            "anthropic": {"kind": "anthropic", "base_url": fake.url, "key_env": "TEST_KEY"},
        },
        "models": [
            {"name": "openai/gpt-4o-mini", "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
            {"name": "openai/gpt-4o", "input_usd_per_mtok": 2.5, "output_usd_per_mtok": 10},
            {
                "name": "anthropic/claude-3-5-haiku-latest",
                "input_usd_per_mtok": 0.8,
                "output_usd_per_mtok": 4,
            },
        ],
        "routes": {"auto": {"target": "0.9"}},
        "server": {"attempt_timeout": 5.0, "deadline": 10.0, "retries": 1},
        "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
        "batch": {"fsync": False},
    }
    config.update(changes)
    return config


def request_line(custom_id: str, text: str, model: str = "auto") -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}]},
    }


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return path


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


@pytest.fixture
def config(fake_upstream: FakeUpstream, tmp_path: Path) -> Callable[..., Config]:
    def make(**changes: Any) -> Config:
        return validate(batch_config(fake_upstream, tmp_path, **changes), {}, "test")

    return make


@pytest.fixture
def requests_file(tmp_path: Path) -> Callable[..., Path]:
    def make(n: int, model: str = "auto", name: str = "in.jsonl") -> Path:
        lines = [request_line(f"r{i}", f"{TEXTS[i % 4]} (#{i})", model) for i in range(n)]
        return write_lines(tmp_path / name, lines)

    return make
