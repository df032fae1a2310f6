"""Versioned prices: the price in force by day, ledger costs at the price of their day, and
`slicewise prices diff` against the bundled table, the configuration and the last run."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from slicewise.chat import ChatRequest, Message, Usage
from slicewise.cli.main import main
from slicewise.config.load import validate
from slicewise.config.schema import ModelConfig
from slicewise.errors import ConfigError
from slicewise.gateway import catalog as catalogs
from slicewise.gateway.dispatch import Served
from slicewise.gateway.plan import Plan
from slicewise.gateway.protocols import OPENAI
from slicewise.gateway.record import Recorder
from slicewise.ledger import Ledger
from slicewise.upkeep import snapshot
from slicewise.upkeep.prices import priced
from tests.gateway import conftest as gateway_fixtures

gateway = gateway_fixtures.gateway  # the running-gateway fixture (tests/gateway)

CHANGE = date(2026, 3, 1)
MODEL = ModelConfig(
    name="openai/gpt-4o-mini",
    input_usd_per_mtok=Decimal("0.15"),
    output_usd_per_mtok=Decimal("0.6"),
    prices=({"from": CHANGE, "input": Decimal("0.30"), "output": Decimal("1.20")},),  # type: ignore[arg-type]
)


def unix(day: date, hour: int = 12) -> float:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp()


def test_the_price_in_force_is_the_last_whose_day_has_come() -> None:
    history = priced(MODEL)
    assert history.on(date(2026, 2, 28)).input_usd_per_mtok == Decimal("0.15")
    assert history.on(CHANGE).input_usd_per_mtok == Decimal("0.30")
    assert history.on(CHANGE).source == "config" and history.changes


def test_price_changes_must_be_in_date_order() -> None:
    raw = {
        "providers": {"openai": {"kind": "openai"}},
        "models": [
            {
                "name": "openai/x",
                "prices": [
                    {"from": "2026-03-01", "input": 1, "output": 1},
                    {"from": "2026-01-01", "input": 2, "output": 2},
                ],
            }
        ],
    }
    with pytest.raises(ConfigError, match=r"models\[0\].prices: price changes must be in date"):
        validate(raw, {}, "test.yaml")


def test_ledger_costs_use_the_price_of_their_day(tmp_path: Path) -> None:
    model = catalogs._model(MODEL)
    catalog = catalogs.Catalog({model.name: model}, {}, {})
    ledger = Ledger(f"sqlite:///{tmp_path}/ledger.db", tmp_path / "journal")
    recorder = Recorder(ledger, catalog)
    request = ChatRequest(model.name, (Message("user", "hi"),))
    decided = Plan("explicit", "explicit", (model.name,), (), "", model.name)
    usage = Usage(1_000_000, 1_000_000)
    for name, day in (("before", date(2026, 2, 28)), ("after", CHANGE)):
        arrived = unix(day, 23 if name == "before" else 0)
        recorder.served(
            name, arrived, time.monotonic(), OPENAI, request, decided, Served(model), usage
        )
    costs = {r["request_id"]: r["cost_usd"] for r in ledger.transactions(10)}
    ledger.close()
    assert costs == {"before": Decimal("0.75"), "after": Decimal("1.5")}


DIFF_YAML = """
providers:
  openai: {kind: openai}
models:
  - name: openai/gpt-4o-mini
    input_usd_per_mtok: 0.2
    output_usd_per_mtok: 0.8
  - name: openai/gpt-4o
    prices: [{from: 2099-01-01, input: 2, output: 8}]
  - name: openai/my-finetune
ledger: {url: "sqlite:///LEDGER"}
"""


def test_prices_diff_against_table_config_and_last_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.db"
    path = tmp_path / "slicewise.yaml"
    path.write_text(DIFF_YAML.replace("LEDGER", str(ledger)))
    engine = Ledger(f"sqlite:///{ledger}", tmp_path / "journal")
    last = [
        snapshot.SnapshotPrice("openai/gpt-4o-mini", Decimal("0.15"), Decimal("0.6"), "config"),
        snapshot.SnapshotPrice("openai/gpt-4o", Decimal("2.5"), Decimal("10"), "genai-prices"),
        snapshot.SnapshotPrice("openai/gpt-3.5-turbo", Decimal("0.5"), Decimal("1.5"), "config"),
    ]
    snapshot.take(engine.engine, last, taken=1_000.0)
    engine.close()

    assert main(["prices", "diff", "--config", str(path), "--json"]) == 0
    found = orjson.loads(capsys.readouterr().out)
    assert found["last_run"] == 1_000.0
    rows = {r["model"]: r for r in found["models"]}
    mini = rows["openai/gpt-4o-mini"]
    assert (mini["table"], mini["config"], mini["served"], mini["last_run"]) == (
        "0.15/0.6",
        "0.2/0.8",
        "0.2/0.8",
        "0.15/0.6",
    )
    assert mini["changes"] == [
        "configuration overrides the table",
        "changed since the last run: 0.15/0.6 -> 0.2/0.8",
    ]
    big = rows["openai/gpt-4o"]
    assert big["config"] == "-" and big["served"] == big["table"] == "2.5/10"
    assert big["changes"] == ["changes on 2099-01-01 to 2/8"]
    assert rows["openai/my-finetune"]["changes"] == [
        "price unknown: costs are reported as unknown",
        "new since the last run",
    ]
    assert rows["openai/gpt-3.5-turbo"]["changes"] == ["gone since the last run"]

    assert main(["prices", "diff", "--config", str(path)]) == 0
    table = capsys.readouterr().out
    assert "last run: 1970-01-01 00:16 UTC" in table and "gone since the last run" in table


def test_prices_diff_without_a_last_run_compares_nothing_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "slicewise.yaml"
    path.write_text(DIFF_YAML.replace("LEDGER", str(tmp_path / "none.db")))
    assert main(["prices", "diff", "--config", str(path), "--json"]) == 0
    found = orjson.loads(capsys.readouterr().out)
    assert found["last_run"] is None
    assert not any("last run" in c for r in found["models"] for c in r["changes"])
    assert not (tmp_path / "none.db").exists()  # reading makes no ledger


def test_the_gateway_snapshots_its_prices_at_start(gateway: Any, tmp_path: Path) -> None:
    server = gateway()
    taken, prices = snapshot.latest(server.gateway.recorder.ledger.engine)
    assert taken is not None and time.time() - taken < 60
    assert prices["openai/gpt-4o"].input_usd_per_mtok == Decimal("2.5")
    assert prices["openai/gpt-4o"].source == "config"
