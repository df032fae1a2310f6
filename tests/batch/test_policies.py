"""Policies hold in a batch as at the gateway: limited models, redaction, blocked lines."""

from __future__ import annotations

from pathlib import Path

from slicewise.batch import api
from slicewise.config import Config
from slicewise.config.load import validate
from tests.batch.conftest import ENV, batch_config, read_lines, request_line, write_lines
from tests.batch.test_run import ledger_rows
from tests.fakes.upstream import FakeUpstream

CARD = "4111 1111 1111 1111"
ONPREM = "onprem/llama"


def policed(fake: FakeUpstream, tmp: Path) -> Config:
    raw = batch_config(fake, tmp)
    raw["providers"]["onprem"] = {
        "kind": "openai",
        "base_url": fake.url + "/v1",
        "key_env": "TEST_KEY",
    }
    raw["models"].append(
        {
            "name": ONPREM,
            "input_usd_per_mtok": 0,
            "output_usd_per_mtok": 0,
            "attributes": {"self_hosted": True},
        }
    )
    raw["routes"]["auto"]["candidates"] = [m["name"] for m in raw["models"]]
    raw["policies"] = {
        "rules": [
            {"name": "cards-on-prem", "classes": ["regulated"], "where": {"self_hosted": True}},
            {"name": "no-keys", "classes": ["confidential"], "action": "block"},
        ]
    }
    return validate(raw, {}, "test")


def test_a_card_goes_only_to_a_self_hosted_model_and_a_blocked_line_to_failures(
    fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    lines = [
        request_line("card", f"charge card {CARD} for the order"),
        request_line("mail", "write to jane.doe@example.com about it"),
        request_line("plain", "What is the capital of Kenya?"),
    ]
    out = tmp_path / "out.jsonl"
    api.run(
        write_lines(tmp_path / "in.jsonl", lines), out, policed(fake_upstream, tmp_path), env=ENV
    )
    served = {line["custom_id"]: line for line in read_lines(out)}
    assert set(served) == {"card", "plain"}
    assert served["card"]["slicewise"]["model"] == ONPREM
    failures = read_lines(tmp_path / "out.failures.jsonl")
    assert [f["custom_id"] for f in failures] == ["mail"]
    assert "no-keys" in str(failures[0]) and "jane.doe" not in str(failures[0])
    sent = " ".join(str(r.body) for r in fake_upstream.requests)
    assert "jane.doe" not in sent
    cloud = [r.body for r in fake_upstream.requests if r.body and r.body.get("model") != "llama"]
    assert CARD not in str(cloud)
    config = policed(fake_upstream, tmp_path)
    rows = {r["request_id"]: r for r in ledger_rows(config)}
    (card,) = [r for r in rows.values() if r["model"] == ONPREM]
    assert card["data_class"] == "regulated" and card["policy_rules"] == '["cards-on-prem"]'


def test_placeholders_go_out_and_the_values_come_back_where_the_policy_restores(
    fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    raw = batch_config(fake_upstream, tmp_path)
    rules = [
        {"name": "mask", "classes": ["confidential"], "action": "redact", "restore": True},
        {"name": "mask-keep", "classes": ["regulated"], "action": "redact"},
    ]
    raw["policies"] = {"rules": rules}
    config = validate(raw, {}, "test")
    email = "jane.doe@example.com"
    lines = [
        request_line("mail", f"write to {email} today"),
        request_line("card", f"charge {CARD} today"),
    ]
    out = tmp_path / "out.jsonl"
    api.run(write_lines(tmp_path / "in.jsonl", lines), out, config, env=ENV)
    answers = {
        line["custom_id"]: line["response"]["body"]["choices"][0]["message"]["content"]
        for line in read_lines(out)
    }
    # the fake echoes what it got: placeholders, restored only where the rule says so
    assert answers == {"mail": f"write to {email} today", "card": "charge [CARD_1] today"}
    sent = " ".join(str(r.body) for r in fake_upstream.requests)
    assert email not in sent and CARD not in sent and "[EMAIL_1]" in sent
