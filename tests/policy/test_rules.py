"""How rules compose: classes, limits that intersect, actions by strength, redaction."""

from __future__ import annotations

import re
from typing import Any

import pytest

from slicewise.chat import ChatRequest, Message
from slicewise.config.load import validate
from slicewise.errors import RequestError
from slicewise.policy.detect import Finding
from slicewise.policy.rules import Policies, from_config

EMAIL = "ann@example.org"


class Kinds:
    """A detector that reports each listed word as the kind it maps to."""

    def __init__(self, words: dict[str, str]) -> None:
        self.words = words

    def find(self, text: str) -> list[Finding]:
        found = [
            Finding(kind, m.start(), m.end())
            for word, kind in self.words.items()
            for m in re.finditer(re.escape(word), text)
        ]
        return sorted(found, key=lambda f: f.start)


class Fixed:
    def __init__(self, score: float) -> None:
        self.value = score

    def score(self, text: str) -> float:
        return self.value


def policies(rules: list[dict[str, Any]], score: float = 0.0, **more: Any) -> Policies:
    raw = {
        "providers": {"cloud": {"kind": "openai"}, "local": {"kind": "local"}},
        "models": [
            {"name": "cloud/eu", "attributes": {"region": "eu", "retains_data": False}},
            {"name": "cloud/us", "attributes": {"region": "us", "hardened": True}},
            {"name": "local/slice"},
        ],
        "policies": {"sets": {"eu": ["cloud/eu"]}, "rules": rules, **more},
    }
    built = from_config(validate(raw, {}, "test"))
    assert built is not None
    words = {EMAIL: "EMAIL", "4111": "CARD", "10.0.0.1": "IP"}
    return Policies(built.config, built._attributes, Kinds(words), Fixed(score))


def ask(text: str, role: str = "user") -> ChatRequest:
    return ChatRequest("auto", (Message(role, text),))  # type: ignore[arg-type]


MODELS = ("cloud/eu", "cloud/us", "local/slice")


def allowed(p: Policies, text: str, declared: str | None = None) -> list[str]:
    _, decision = p.apply(ask(text), declared)
    return [m for m in MODELS if not decision.refuses(m)]


def test_the_highest_class_wins_and_a_client_cannot_lower_detection() -> None:
    p = policies([])
    assert p.apply(ask("hello"), None)[1].classes == ("public",)
    assert p.apply(ask(f"mail {EMAIL} from 10.0.0.1"), None)[1].classes == (
        "public",
        "internal",
        "confidential",
    )
    decision = p.apply(ask("card 4111"), "internal")[1]
    assert decision.data_class == "regulated" and decision.detections == {"CARD": 1}


def test_limits_intersect_and_the_local_slice_is_self_hosted() -> None:
    rules = [
        {"name": "zero-retention", "classes": ["confidential"], "where": {"retains_data": False}},
        {"name": "eu", "classes": ["confidential"], "where": {"region": ["eu", "de"]}},
    ]
    assert allowed(policies(rules), EMAIL) == ["cloud/eu"]
    local = [{"name": "local", "classes": ["regulated"], "where": {"self_hosted": True}}]
    assert allowed(policies(local), "4111") == ["local/slice"]
    assert allowed(policies(local), "hello") == list(MODELS)  # the rule's class only


def test_a_rule_without_classes_applies_to_every_request_and_sets_limit_too() -> None:
    p = policies([{"name": "only-eu", "action": "route", "sets": ["eu"]}])
    assert allowed(p, "hello") == ["cloud/eu"]
    _, decision = p.apply(ask("hello"), None)
    assert decision.action == "route" and decision.rules == ("only-eu",)
    assert decision.refuses("cloud/us") == "policy rule 'only-eu' allows only set eu"


def test_the_strongest_action_is_reported_and_effects_add_up() -> None:
    rules = [
        {"name": "mask", "classes": ["confidential"], "action": "redact", "restore": True},
        {"name": "eu", "classes": ["confidential"], "action": "route", "sets": ["eu"]},
    ]
    request, decision = policies(rules).apply(ask(f"write {EMAIL} and {EMAIL}"), None)
    assert decision.action == "route" and decision.rules == ("mask", "eu")
    assert request.messages[0].content == "write [EMAIL_1] and [EMAIL_1]"
    assert decision.vault is not None and decision.vault.values == {"[EMAIL_1]": EMAIL}
    block = [*rules, {"name": "stop", "classes": ["confidential"], "action": "block"}]
    request, decision = policies(block).apply(ask(EMAIL), None)
    assert decision.action == "block" and decision.blocked_by == "stop"
    assert request.messages[0].content == EMAIL  # nothing leaves, so nothing is redacted
    assert EMAIL not in decision.refusal().message


def test_restore_only_when_every_redact_rule_says_so_and_kinds_narrow_it() -> None:
    rules = [
        {"name": "a", "action": "redact", "restore": True, "kinds": ["EMAIL"]},
        {"name": "b", "action": "redact", "kinds": ["IP"]},
    ]
    request, decision = policies(rules).apply(ask(f"{EMAIL} 10.0.0.1 4111"), None)
    assert request.messages[0].content == "[EMAIL_1] [IP_1] 4111"
    assert decision.vault is None and decision.redacted == 2


@pytest.mark.parametrize(
    ("action", "expect"),
    [("flag", "flag"), ("block", "block"), ("restrict", "restrict"), ("off", "allow")],
)
def test_injection_actions(action: str, expect: str) -> None:
    p = policies([], score=0.9, injection={"action": action, "threshold": 0.8})
    _, decision = p.apply(ask("anything", role="tool"), None)
    assert decision.action == expect
    assert decision.flagged is (action != "off")
    if action == "restrict":
        assert [m for m in MODELS if not decision.refuses(m)] == ["cloud/us"]
    if action == "block":
        assert "'injection'" in decision.refusal().message


def test_injection_below_threshold_and_roles_not_scanned() -> None:
    p = policies([], score=0.5, injection={"action": "block", "threshold": 0.8})
    assert not p.apply(ask("x"), None)[1].flagged
    p = policies([], score=0.9, injection={"action": "block", "roles": ["user"]})
    assert p.apply(ask("x", role="system"), None)[1].injection == 0.0


def test_declared_classes_are_checked_by_field() -> None:
    p = policies([])
    assert p.declared("Confidential", {}) == "confidential"
    assert p.declared("internal", {"data_class": "regulated"}) == "regulated"
    with pytest.raises(RequestError) as bad:
        p.declared(None, {"data_class": "top-secret"})
    assert bad.value.param == "metadata.data_class" and "public, internal" in bad.value.message


def test_the_audit_holds_counts_never_values() -> None:
    _, decision = policies([]).apply(ask(f"{EMAIL} {EMAIL}"), None)
    audit = decision.audit()
    assert audit["detections"] == {"EMAIL": 2} and EMAIL not in str(audit)
    assert audit["data_class"] == "confidential" and audit["policy_action"] == "allow"
