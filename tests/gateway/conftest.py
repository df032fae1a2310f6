from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from slicewise.config.load import validate
from tests.fakes.fixtures import fake_upstream, fake_upstream_session
from tests.fakes.upstream import FakeUpstream
from tests.gateway.server import GatewayServer

__all__ = ["fake_upstream", "fake_upstream_session", "gateway"]

KEY = "sk-test-not-a-real-key-1234567890"


def test_config(fake: FakeUpstream, ledger: Path, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "providers": {
            "openai": {"kind": "openai", "base_url": fake.url + "/v1", "key_env": "TEST_KEY"},
            "anthropic": {"kind": "anthropic", "base_url": fake.url, "key_env": "TEST_KEY"},
        },
        "models": [
            {
                "name": "openai/gpt-4o-mini",
                "input_usd_per_mtok": 0.15,
                "output_usd_per_mtok": 0.6,
                "context_window": 128000,
            },
            {
                "name": "openai/gpt-4o",
                "input_usd_per_mtok": 2.5,
                "output_usd_per_mtok": 10,
                "context_window": 128000,
            },
            {
                "name": "anthropic/claude-3-5-haiku-latest",
                "input_usd_per_mtok": 0.8,
                "output_usd_per_mtok": 4,
                "context_window": 200000,
            },
        ],
        "routes": {"auto": {"target": "0.9"}},
        "server": {"attempt_timeout": 2.0, "deadline": 6.0, "retries": 1},
        "ledger": {"url": f"sqlite:///{ledger}"},
    }
    for key, value in changes.items():
        config[key] = value
    return config


@pytest.fixture
def gateway(
    fake_upstream: FakeUpstream,
    tmp_path: Path,
) -> Iterator[Callable[..., GatewayServer]]:
    servers: list[GatewayServer] = []

    def start(**changes: Any) -> GatewayServer:
        raw = test_config(fake_upstream, tmp_path / "ledger.db", **changes)
        server = GatewayServer(validate(raw, {}, "test"), {"TEST_KEY": KEY}).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)
