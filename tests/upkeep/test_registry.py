"""The model registry: aliases, retirement warnings, redirects and refusals, `slicewise models`."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from slicewise.cli.main import main
from slicewise.config.load import validate
from slicewise.errors import ConfigError, RequestError
from slicewise.upkeep.prices import today
from slicewise.upkeep.registry import Registry
from tests.fakes.upstream import FakeUpstream
from tests.gateway import conftest as gateway_fixtures

gateway = gateway_fixtures.gateway  # the running-gateway fixture (tests/gateway)

DAY = date(2026, 6, 1)
MINI, BIG, HAIKU = "openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-latest"


def config(**changes: Any) -> Any:
    raw: dict[str, Any] = {
        "providers": {"openai": {"kind": "openai"}, "anthropic": {"kind": "anthropic"}},
        "models": [
            {"name": MINI, "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
            {"name": BIG, "input_usd_per_mtok": 2.5, "output_usd_per_mtok": 10},
            {"name": HAIKU, "input_usd_per_mtok": 0.8, "output_usd_per_mtok": 4},
        ],
    }
    raw.update(changes)
    return validate(raw, {}, "test.yaml")


def retiring(on: date, replaced_by: str | None = BIG) -> list[dict[str, Any]]:
    """The test models, gpt-4o-mini retiring on ``on``."""
    models: list[dict[str, Any]] = config().model_dump(mode="json")["models"]
    models[0] |= {"retires": on.isoformat(), "replaced_by": replaced_by, "version": "2024-07-18"}
    return models


def test_an_alias_names_a_model_for_requests_and_routes() -> None:
    cfg = config(aliases={"fast": MINI}, routes={"pair": {"candidates": ["fast", BIG]}})
    registry = Registry.of(cfg)
    assert registry.resolve("fast").name == MINI and registry.resolve("fast").alias == "fast"
    assert registry.resolve(BIG).name == BIG and registry.resolve(BIG).alias is None
    assert registry.route("pair", cfg.routes["pair"]).candidates == (MINI, BIG)
    trained = cfg.routes["pair"].model_copy(update={"aliases": {"small": "fast"}})
    assert registry.route("pair", trained).aliases == {"small": MINI}


def test_an_alias_to_nothing_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"aliases.fast: 'openai/nope' is neither"):
        config(aliases={"fast": "openai/nope"})
    with pytest.raises(ConfigError, match="replaced_by: model 'openai/gone' is not configured"):
        config(models=[{"name": MINI, "retires": "2026-01-01", "replaced_by": "openai/gone"}])


def test_retiring_warns_once_a_day_then_redirects(caplog: pytest.LogCaptureFixture) -> None:
    day = [DAY - timedelta(days=10)]
    registry = Registry.of(config(models=retiring(DAY)), lambda: day[0])
    assert registry.warnings() == [
        f"model {MINI} retires on 2026-06-01 (in 10 days); replaced by {BIG}"
    ]
    with caplog.at_level(logging.WARNING, "slicewise.upkeep.registry"):
        assert registry.resolve(MINI).name == MINI
        assert registry.resolve(MINI).name == MINI
    assert [r.getMessage() for r in caplog.records].count(registry.warnings()[0]) == 1
    day[0] = DAY
    resolved = registry.resolve(MINI)
    assert (resolved.name, resolved.redirected_from) == (BIG, MINI)
    assert registry.status(MINI) == ("retired", registry.lifecycles[MINI])


def test_replacements_chain_and_aliases_follow_them() -> None:
    models = retiring(DAY)
    models[1] |= {"retires": DAY.isoformat(), "replaced_by": HAIKU}  # gpt-4o goes too
    registry = Registry.of(config(models=models, aliases={"fast": MINI}), lambda: DAY)
    resolved = registry.resolve("fast")
    assert (resolved.name, resolved.alias, resolved.redirected_from) == (HAIKU, "fast", MINI)


def test_far_from_retirement_is_quiet() -> None:
    registry = Registry.of(config(models=retiring(DAY)), lambda: DAY - timedelta(days=31))
    assert registry.warnings() == [] and registry.status(MINI)[0] == "active"


def test_retired_without_replacement_or_with_fail_is_refused_by_name() -> None:
    registry = Registry.of(config(models=retiring(DAY, None)), lambda: DAY)
    with pytest.raises(RequestError, match=rf"{MINI} was retired on 2026-06-01; choose another"):
        registry.resolve(MINI)
    strict = Registry.of(config(models=retiring(DAY), registry={"retired": "fail"}), lambda: DAY)
    with pytest.raises(RequestError, match=rf"{MINI} was retired on 2026-06-01; use {BIG}"):
        strict.resolve(MINI)


def chat(server: Any, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi there"}]}
    return httpx.post(server.url + "/v1/chat/completions", json=body, timeout=20)


def test_gateway_serves_aliases_and_redirects_retired_models(
    gateway: Any, fake_upstream: FakeUpstream
) -> None:
    yesterday = today() - timedelta(days=1)
    server = gateway(
        models=retiring(yesterday), aliases={"fast": HAIKU}, routes={"auto": {"target": "0.9"}}
    )
    by_alias = chat(server, "fast")
    assert by_alias.status_code == 200 and by_alias.headers["x-slicewise-model"] == HAIKU
    redirected = chat(server, MINI)
    assert redirected.status_code == 200 and redirected.headers["x-slicewise-model"] == BIG
    rows = {r["requested"]: r for r in server.gateway.recorder.ledger.transactions(10)}
    assert rows["fast"]["model"] == HAIKU
    assert rows[MINI]["model"] == BIG
    assert rows[MINI]["extra"]["redirected_from"] == MINI
    assert fake_upstream.calls["gpt-4o-mini"] == 0
    listed = [m["id"] for m in httpx.get(server.url + "/v1/models", timeout=10).json()["data"]]
    assert listed[:2] == ["auto", "fast"] and MINI in listed


def test_gateway_refuses_a_retired_model_without_replacement(gateway: Any) -> None:
    server = gateway(models=retiring(today(), None))
    refused = chat(server, MINI)
    assert refused.status_code == 404
    error = refused.json()["error"]
    assert error["code"] == "model_retired" and error["param"] == "model"
    assert f"model {MINI} was retired on {today()}" in error["message"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slicewise.yaml"
    path.write_text(text)
    return path


REGISTRY_YAML = """
providers:
  openai: {kind: openai}
models:
  - name: openai/gpt-4o-mini-2024-07-18
    version: "2024-07-18"
    input_usd_per_mtok: 0.15
    output_usd_per_mtok: 0.6
    context_window: 128000
    retires: RETIRES
    replaced_by: openai/gpt-4.1-mini
  - name: openai/gpt-4.1-mini
    prices: [{from: 2099-01-01, input: 0.3, output: 1.2}]
  - name: openai/gpt-3.5-turbo-0613
    retires: 2024-09-13
  - name: openai/my-finetune
aliases:
  fast: openai/gpt-4o-mini-2024-07-18
drift: {share: 0.01, reference: openai/my-finetune}
"""


def test_models_command_lists_price_source_and_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = (today() + timedelta(days=5)).isoformat()
    path = write(tmp_path, REGISTRY_YAML.replace("RETIRES", soon))
    assert main(["models", "--config", str(path), "--json"]) == 0
    rows = {r["name"]: r for r in orjson.loads(capsys.readouterr().out)}
    dated = rows["openai/gpt-4o-mini-2024-07-18"]
    assert dated["aliases"] == ["fast"] and dated["version"] == "2024-07-18"
    assert (dated["input_usd_per_mtok"], dated["price_source"]) == ("0.15", "config")
    assert dated["status"] == f"retiring on {soon}"
    assert rows["openai/gpt-4.1-mini"]["price_source"] == "genai-prices"
    assert rows["openai/gpt-4.1-mini"]["next_price"] == "2099-01-01: 0.3/1.2"
    assert rows["openai/gpt-3.5-turbo-0613"]["status"] == "retired on 2024-09-13"
    unknown = rows["openai/my-finetune"]
    assert unknown["price_source"] == "unknown" and unknown["input_usd_per_mtok"] is None

    assert main(["models", "--config", str(path)]) == 0
    table = capsys.readouterr().out
    assert "retiring on" in table and soon in table and "no known price" in table

    assert main(["config", "check", str(path)]) == 0
    checked = capsys.readouterr().out
    assert "warning: model openai/gpt-4o-mini-2024-07-18 retires on" in checked
    assert "warning: model openai/gpt-3.5-turbo-0613 was retired on 2024-09-13" in checked
    assert "warning: drift.routes.auto: reference openai/my-finetune has no known price" in checked
