"""``ledger.enabled: false``: the gateway serves as usual and the ledger stays empty."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
from sqlalchemy import func, select

from slicewise.config.load import validate
from slicewise.ledger import NullLedger, Transaction
from slicewise.ledger.engine import open_engine
from slicewise.ledger.schema import transactions
from tests.fakes.fixtures import fake_upstream, fake_upstream_session
from tests.fakes.upstream import FakeUpstream
from tests.gateway import conftest as gateways
from tests.gateway.server import GatewayServer

__all__ = ["fake_upstream", "fake_upstream_session"]


def test_a_disabled_ledger_records_nothing(tmp_path: Path) -> None:
    ledger = NullLedger(f"sqlite:///{tmp_path}/ledger.db", tmp_path / "journal")
    ledger.record(Transaction("req_1", 1.0, "openai.chat", "auto", "r", "auto", None, 200, 1.0))
    ledger.flush()
    assert ledger.transactions() == []
    ledger.close()
    assert not (tmp_path / "journal").exists()


def test_the_gateway_serves_with_it_off(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    raw = gateways.test_config(fake_upstream, db)
    raw["ledger"]["enabled"] = False
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with GatewayServer(validate(raw, {}, "test"), {"TEST_KEY": gateways.KEY}) as server:
        for _ in range(3):
            reply = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=20)
            assert reply.status_code == 200
    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as read:
        assert read.scalar(select(func.count()).select_from(transactions)) == 0
    engine.dispose()
    assert not list(tmp_path.glob("*.journal*"))
