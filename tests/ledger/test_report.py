from __future__ import annotations

import csv
import io
import random
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pytest

from slicewise.cli.main import main
from slicewise.ledger import Ledger, Transaction
from slicewise.ledger.report import report

DAY = 86400.0
START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def tx(i: int, **changes: object) -> Transaction:
    fields: dict[str, object] = {
        "request_id": f"req_{i}",
        "created": START + i,
        "endpoint": "openai.chat",
        "route": "auto",
        "router": "coldstart",
        "requested": "auto",
        "model": "openai/gpt-4o-mini",
        "status": 200,
        "latency_ms": float(i),
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": Decimal("0.000000000001"),
        "baseline_cost_usd": Decimal("0.000000000003"),
        "tenant": "acme",
    }
    fields.update(changes)
    return Transaction(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ledger(ledger_url: str, tmp_path: Path) -> Ledger:
    ledger = Ledger(ledger_url, tmp_path / "journal")
    for i in range(1, 101):  # 100 mini calls, latencies 1..100 ms
        ledger.record(tx(i))
    ledger.record(tx(101, model=None, status=502, cost_usd=None, baseline_cost_usd=None))
    ledger.record(tx(102, model="x/unpriced", cost_usd=None, tenant="other"))
    ledger.record(tx(103, created=START + DAY, fallbacks=({"model": "a", "error": "timeout"},)))
    return ledger


def test_groups_sum_exactly_and_rate_failures(ledger: Ledger) -> None:
    rows = {row.group: row for row in report(ledger, by="model")}
    mini = rows["openai/gpt-4o-mini"]
    assert mini.requests == 101
    assert mini.input_tokens == 1010
    assert mini.cost_usd == Decimal("0.000000000101")
    assert mini.baseline_cost_usd == Decimal("0.000000000303")
    assert mini.savings_usd == Decimal("0.000000000202")
    assert mini.savings_share == pytest.approx(2 / 3)
    assert mini.fallback_rate == pytest.approx(1 / 101)
    assert rows["-"].error_rate == 1.0 and rows["-"].cost_usd == 0
    assert rows["x/unpriced"].unpriced == 1 and rows["x/unpriced"].savings_share is None
    ledger.close()


def test_percentiles_interpolate_like_percentile_cont(ledger: Ledger) -> None:
    (only,) = report(ledger, since=START + 1, by="all", tenant="acme")
    # acme's latencies from START + 1 on: 1..101 (101 is the failure) and 103
    assert only.requests == 102
    assert only.p50_ms == pytest.approx(51.5)
    ledger.close()


def test_by_day_and_since_and_tenant(ledger: Ledger) -> None:
    days = report(ledger, by="day")
    assert [(d.group, d.requests) for d in days] == [("2023-11-14", 102), ("2023-11-15", 1)]
    assert [r.group for r in report(ledger, since=START + DAY, by="tenant")] == ["acme"]
    assert [r.group for r in report(ledger, by="tenant", tenant="other")] == ["other"]
    ledger.close()


def test_the_command_prints_json_csv_and_a_table(ledger: Ledger, ledger_url: str, capsys) -> None:
    ledger.close()
    assert (
        main(["report", "--ledger", ledger_url, "--since", "all", "--by", "route", "--json"]) == 0
    )
    (row,) = orjson.loads(capsys.readouterr().out)
    assert row["group"] == "auto" and row["requests"] == 103
    assert Decimal(row["cost_usd"]) == Decimal("0.000000000101")
    assert main(["report", "--ledger", ledger_url, "--since", "all", "--csv"]) == 0
    found = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["group"] for r in found] == ["2023-11-14", "2023-11-15"]
    assert main(["report", "--ledger", ledger_url, "--since", "all", "--by", "model"]) == 0
    assert "openai/gpt-4o-mini" in capsys.readouterr().out


def test_the_command_explains_a_bad_since(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--since", "yesterday"])
    assert "write a number and a unit" in capsys.readouterr().err


@pytest.mark.parametrize("tenant", [None, "acme"])
@pytest.mark.parametrize("by", ["day", "model", "route", "tenant", "key", "all"])
def test_percentiles_match_numpy_exactly(
    ledger_url: str, tmp_path: Path, by: str, tenant: str | None
) -> None:
    """SQLite reads the two latencies around the rank from an index; PostgreSQL uses
    percentile_cont. Either agrees with numpy's linear interpolation to float precision."""
    rng = random.Random(5)
    ledger = Ledger(ledger_url, tmp_path / "journal")
    latencies: dict[str, list[float]] = defaultdict(list)
    for i in range(600):
        found = tx(
            i,
            created=START + rng.random() * 3 * DAY,
            latency_ms=rng.lognormvariate(6, 0.5),
            model=rng.choice(["a/x", "b/y", None]),
            route=rng.choice(["auto", ""]),
            tenant=rng.choice(["acme", "other", None]),
            key_id=rng.choice(["k1", "-", None]),
        )
        ledger.record(found)
        if tenant in (None, found.tenant):
            latencies[_group(found, by)].append(found.latency_ms)
    rows = report(ledger, by=by, tenant=tenant)  # type: ignore[arg-type]
    assert [r.group for r in rows] == sorted(latencies)
    for r in rows:
        p50, p95 = np.percentile(latencies[r.group], [50, 95])
        assert r.p50_ms == pytest.approx(p50, rel=1e-12)
        assert r.p95_ms == pytest.approx(p95, rel=1e-12)
    ledger.close()


def _group(found: Transaction, by: str) -> str:
    if by == "day":
        return time.strftime("%Y-%m-%d", time.gmtime(found.created))
    if by == "all":
        return "all"
    value = getattr(found, {"key": "key_id"}.get(by, by))
    return str(value) if value else "-"
