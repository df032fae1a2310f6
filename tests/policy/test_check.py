"""``config check`` explains policies that are valid but do not fit together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slicewise.cli.main import main
from slicewise.config.load import validate
from slicewise.errors import ConfigError
from slicewise.policy.check import conflicts

CONFIG = """\
providers:
  cloud: {kind: openai, base_url: "http://127.0.0.1:9"}
  local: {kind: local}
models:
  - name: cloud/eu
    input_usd_per_mtok: 1
    output_usd_per_mtok: 2
    attributes: {region: eu}
  - name: local/slice
    input_usd_per_mtok: 0
    output_usd_per_mtok: 0
policies:
  sets:
    eu: [cloud/eu]
  rules:
    - name: confidential-local
      classes: [confidential]
      where: {self_hosted: true}
"""


def config(rules: list[dict[str, Any]], **more: Any) -> Any:
    raw = {
        "providers": {"cloud": {"kind": "openai"}, "local": {"kind": "local"}},
        "models": [
            {"name": "cloud/eu", "attributes": {"region": "eu"}},
            {"name": "local/slice"},
        ],
        "policies": {"sets": {"eu": ["cloud/eu"]}, "rules": rules, **more.pop("policies", {})},
        **more,
    }
    return validate(raw, {}, "test")


def messages(rules: list[dict[str, Any]], **more: Any) -> list[str]:
    return [f"{'.'.join(map(str, c.path))}: {c.message}" for c in conflicts(config(rules, **more))]


def test_rules_that_leave_a_class_no_model() -> None:
    found = messages(
        [
            {"name": "local", "classes": ["confidential"], "where": {"self_hosted": True}},
            {"name": "eu", "classes": ["confidential"], "sets": ["eu"]},
        ]
    )
    assert found[0].startswith("policies.rules.0: class confidential: its rules together allow")
    assert "local allows only models with self_hosted=true; eu allows only set eu" in found[0]


def test_a_block_overriding_a_redact() -> None:
    found = messages(
        [
            {"name": "mask", "classes": ["regulated"], "action": "redact"},
            {"name": "stop", "classes": ["regulated"], "action": "block"},
        ]
    )
    assert found == [
        "policies.rules.0: class regulated: 'stop' blocks, so 'mask' never takes effect for it "
        "(block wins); narrow the classes of one of them"
    ]


def test_a_more_sensitive_class_with_more_models() -> None:
    found = messages(
        [{"name": "local", "classes": ["confidential"], "where": {"self_hosted": True}}]
    )
    assert found == [
        "policies.rules: class regulated may go to cloud/eu, which confidential may not; a more "
        "sensitive class is allowed more models (add regulated to the classes of the rules for "
        "confidential?)"
    ]


def test_a_route_without_a_model_for_a_class_and_restrict_without_hardened() -> None:
    found = messages(
        [
            {
                "name": "local",
                "classes": ["internal", "confidential", "regulated"],
                "where": {"self_hosted": True},
            }
        ],
        routes={"cheap": {"candidates": ["cloud/eu"]}},
        policies={"injection": {"action": "restrict"}},
    )
    assert sum("route 'cheap' has no model for class" in f for f in found) == 3
    assert found[-1].startswith("policies.injection.action: restrict sends flagged requests")


def test_no_conflicts_when_the_rules_fit() -> None:
    rule = {
        "name": "local",
        "classes": ["confidential", "regulated"],
        "where": {"self_hosted": True},
    }
    assert messages([rule]) == []
    assert conflicts(validate({}, {}, "test")) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"sets": {"eu": ["cloud/nowhere"]}}, "policies.sets.eu[0]: model 'cloud/nowhere' is not"),
        ({"rules": [{"name": "r", "sets": ["asia"]}]}, "policies.rules[0].sets[0]: set 'asia'"),
        ({"rules": [{"name": "r", "action": "route"}]}, "action route needs sets"),
        ({"rules": [{"name": "r", "restore": True}]}, "restore applies only to action redact"),
        ({"classify": {"detect": {"EMAILS": "public"}}}, "unknown kind 'EMAILS'"),
        ({"rules": [{"name": "r"}, {"name": "r"}]}, "two rules are named 'r'"),
    ],
)
def test_wrong_references_are_refused_with_their_place(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        config([], policies=change)
    assert problem in str(refused.value)


def test_config_check_prints_each_conflict_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "slicewise.yaml"
    path.write_text(CONFIG)
    assert main(["config", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:15: policies.rules: conflict: class regulated may go to cloud/eu" in out
    assert f"{path}: 1 policy conflicts: 2 providers, 2 models, routes auto, 1 policy rules" in out
    path.write_text(CONFIG.replace("[confidential]", "[confidential, regulated]"))
    assert main(["config", "check", str(path)]) == 0
    assert "ok: 2 providers" in capsys.readouterr().out
