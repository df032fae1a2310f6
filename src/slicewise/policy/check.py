"""What ``slicewise config check`` says about policies that are valid but do not fit together.

A configuration that names an unknown model or set is refused when it is read; the problems
here are ones the file can express but its author probably did not mean: a class whose rules
leave no model, a route with no model for a class, a redact rule a block rule overrides, a
more sensitive class allowed models a less sensitive one is not, injection's ``restrict``
with no hardened model. Each is one ``Conflict`` at the place in the file to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from slicewise.config import Config
from slicewise.policy.config import CLASSES, PoliciesConfig, RuleConfig
from slicewise.policy.rules import Policies, describe, from_config

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Conflict:
    path: Path
    message: str


def conflicts(config: Config) -> list[Conflict]:
    """Every conflict among ``config``'s policies; none when it has no policies."""
    policies = from_config(config)
    if policies is None or config.policies is None:
        return []
    raw = config.policies
    models = [m.name for m in config.models]
    allowed: dict[str, list[str]] = {c: _allowed(policies, _rules(raw, c), models) for c in CLASSES}
    found: list[Conflict] = []
    for data_class in CLASSES:
        found += _class_conflicts(config, raw, data_class, allowed[data_class])
    found += _inversions(raw, allowed)
    if raw.injection.action == "restrict" and not any(policies.hardened.allows(m) for m in models):
        found.append(
            Conflict(
                ("policies", "injection", "action"),
                "restrict sends flagged requests only to hardened models, and no model has "
                "attributes.hardened: true; such requests would be refused",
            )
        )
    return found


def _class_conflicts(
    config: Config, raw: PoliciesConfig, data_class: str, allowed: list[str]
) -> list[Conflict]:
    rules = _rules(raw, data_class)
    if not rules:
        return []
    at = ("policies", "rules", raw.rules.index(rules[0]))
    if any(r.action == "block" for r in rules):
        return _overridden(at, data_class, rules)
    if not allowed:
        why = "; ".join(f"{r.name} allows only {describe(r)}" for r in rules if _limits(r))
        return [
            Conflict(
                at,
                f"class {data_class}: its rules together allow no configured model ({why}); "
                "every such request would be refused: say action block if that is meant",
            )
        ]
    return [
        Conflict(
            ("routes", name),
            f"route {name!r} has no model for class {data_class} (allowed: "
            f"{', '.join(allowed)}); add one to its candidates or such requests are refused",
        )
        for name, route in config.routes.items()
        if route.candidates and not set(route.candidates) & set(allowed)
    ]


def _overridden(at: Path, data_class: str, rules: list[RuleConfig]) -> list[Conflict]:
    """A block makes the class's redact and route rules never take effect."""
    blocks = [r.name for r in rules if r.action == "block"]
    others = [r.name for r in rules if r.action in ("redact", "route")]
    if not others:
        return []
    message = (
        f"class {data_class}: {_names(blocks)} blocks, so {_names(others)} never takes effect "
        "for it (block wins); narrow the classes of one of them"
    )
    return [Conflict(at, message)]


def _inversions(raw: PoliciesConfig, allowed: dict[str, list[str]]) -> list[Conflict]:
    """A class allowed a model a less sensitive class is not: probably a rule missing."""
    found = []
    for lower, higher in pairwise(CLASSES):
        extra = [m for m in allowed[higher] if m not in allowed[lower]]
        if extra and allowed[higher] and not _blocked(raw, higher):
            found.append(
                Conflict(
                    ("policies", "rules"),
                    f"class {higher} may go to {', '.join(extra)}, which {lower} may not; a "
                    f"more sensitive class is allowed more models (add {higher} to the "
                    f"classes of the rules for {lower}?)",
                )
            )
    return found


def _rules(raw: PoliciesConfig, data_class: str) -> list[RuleConfig]:
    return [r for r in raw.rules if not r.classes or data_class in r.classes]


def _allowed(policies: Policies, rules: list[RuleConfig], models: list[str]) -> list[str]:
    return [m for m in models if all(policies.allows(r, m) for r in rules if _limits(r))]


def _limits(rule: RuleConfig) -> bool:
    return rule.where is not None or bool(rule.sets)


def _blocked(raw: PoliciesConfig, data_class: str) -> bool:
    return any(r.action == "block" for r in _rules(raw, data_class))


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)
