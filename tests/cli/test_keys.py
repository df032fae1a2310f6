"""``slicewise keys``: a key shown once and stored hashed, listed, revoked; tenant limits."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from slicewise.cli.main import main
from slicewise.ledger.engine import open_engine
from slicewise.tenancy.keys import digest, lookup


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def listed(url: str, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["keys", "list", "--json", "--ledger", url]) == 0
    return orjson.loads(capsys.readouterr().out)


def test_create_prints_the_key_once_and_stores_its_hash(url: str, capsys, tmp_path) -> None:
    args = ["keys", "create", "--tenant", "acme", "--name", "ci", "--routes", "auto"]
    assert main([*args, "--daily-usd", "2.5", "--rpm", "60", "--ledger", url]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("sk-sw-") and len(secret) > 40
    raw = (tmp_path / "ledger.db").read_bytes()
    assert secret.encode() not in raw and digest(secret).encode() in raw
    (key,) = listed(url, capsys)["keys"]
    assert key["tenant"] == "acme" and key["routes"] == ["auto"] and key["models"] == []
    assert key["daily_usd"] == "2.5" and key["rpm"] == 60 and key["revoked"] is None
    assert secret.startswith(key["prefix"]) and "hash" not in key
    engine = open_engine(url)
    found = lookup(engine, secret)
    engine.dispose()
    assert found is not None and found[0].limits.daily_usd == Decimal("2.5")


def test_revoke(url: str, capsys) -> None:
    main(["keys", "create", "--tenant", "acme", "--ledger", url])
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    (key,) = listed(url, capsys)["keys"]
    assert main(["keys", "revoke", key["id"], "--ledger", url]) == 0
    assert listed(url, capsys)["keys"][0]["revoked"] is not None
    engine = open_engine(url)
    assert lookup(engine, secret) is None
    engine.dispose()
    assert main(["keys", "revoke", key["id"], "--ledger", url]) == 2
    assert "already revoked" in capsys.readouterr().err
    assert main(["keys", "revoke", "key_nope", "--ledger", url]) == 2
    assert "slicewise keys list" in capsys.readouterr().err


def test_tenant_limits(url: str, capsys) -> None:
    argv = ["keys", "tenant", "acme", "--monthly-usd", "100", "--tpm", "50000", "--ledger", url]
    assert main(argv) == 0
    assert "$100/month, 50000 tokens/min" in capsys.readouterr().out
    (tenant,) = listed(url, capsys)["tenants"]
    assert tenant["monthly_usd"] == "100" and tenant["tpm"] == 50000


def test_bad_amount_is_a_usage_error(url: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["keys", "tenant", "acme", "--daily-usd", "lots", "--ledger", url])
    assert "not an amount in USD" in capsys.readouterr().err


def test_grants_the_configuration_does_not_name_are_warned_about(tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"providers: {{p: {{kind: openai, base_url: 'http://127.0.0.1:9'}}}}\n"
        f"models: [{{name: p/m}}]\nledger: {{url: 'sqlite:///{tmp_path}/k.db'}}\n"
    )
    argv = ["keys", "create", "--tenant", "acme", "--config", str(config)]
    assert main([*argv, "--models", "p/m", "p/typo", "--routes", "auto", "fast"]) == 0
    err = capsys.readouterr().err
    assert "--models p/typo: not a model of" in err and "--routes fast: not a route of" in err
    assert "p/m:" not in err and "auto:" not in err
