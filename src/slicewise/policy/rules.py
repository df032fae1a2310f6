"""Policies at run time: a request's data classes, the rules that apply, and what they do.

How rules compose (the README's "Policies" section says the same, with examples):

- A request's classes are the configured default, the class the client declares (a header or
  the body's metadata) and the class of each kind detected in its messages. Its class is the
  highest of them: a client can raise its class, never lower what detection found.
- A rule applies when its ``classes`` contain the request's class (a rule listing none
  applies to every request).
- The models allowed are those every applying rule allows (its ``where`` and its ``sets``
  both hold): the limits intersect. Injection's ``restrict`` adds "hardened models only".
- Effects add up: every applying redact rule redacts (its ``kinds``; all when it lists none),
  and values are restored in the answer only when every one of them says ``restore``. A block
  (a rule's, or injection's) stops the request before any model is asked.
- The action reported is the strongest taken: block > route > restrict > redact > flag > allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from slicewise.chat import ChatRequest
from slicewise.config import Config
from slicewise.errors import RequestError
from slicewise.policy.config import CLASSES, ModelAttributes, PoliciesConfig, RuleConfig, Where
from slicewise.policy.decision import INJECTION, Decision, Limit, strongest
from slicewise.policy.detect import Detector, Finding, default_detector
from slicewise.policy.injection import Scorer, default_scorer
from slicewise.policy.redact import Vault, redact

Attributes = Callable[[str], ModelAttributes]
"""A model's attributes by its name, with ``self_hosted`` resolved."""

MEMO = 4096
"""At most this many (rule, model) answers are remembered."""

RANK: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}


@dataclass(frozen=True)
class Rule:
    name: str
    action: str
    kinds: frozenset[str]
    restore: bool
    limit: Limit | None


class Policies:
    """The compiled ``policies:`` section; one per gateway, shared by its requests."""

    def __init__(
        self,
        config: PoliciesConfig,
        attributes: Attributes,
        detector: Detector | None = None,
        scorer: Scorer | None = None,
    ) -> None:
        self.config = config
        self.detector = detector or default_detector()
        self.scorer = scorer or default_scorer()
        self.detect = config.classify.detect
        self._attributes = attributes
        self._allowed: dict[tuple[str, str], bool] = {}
        rules = [self._rule(r) for r in config.rules]
        self.by_class: dict[str, tuple[Rule, ...]] = {
            c: tuple(r for r, raw in zip(rules, config.rules, strict=True) if _applies(raw, c))
            for c in CLASSES
        }
        self.hardened = Limit(INJECTION, lambda m: self._attributes(m).hardened, "hardened models")

    def declared(self, header: str | None, metadata: Mapping[str, str]) -> str | None:
        """The class the client declares, checked; 400 naming the field when it is no class."""
        classify = self.config.classify
        given = (
            (classify.header, header),
            (f"metadata.{classify.field}", metadata.get(classify.field)),
        )
        chosen = []
        for where, value in given:
            if value is None:
                continue
            name = value.strip().lower()
            if name not in RANK:
                raise RequestError(
                    f"{value!r} is not a data class; send one of {', '.join(CLASSES)}",
                    param=where,
                )
            chosen.append(name)
        return max(chosen, key=RANK.__getitem__, default=None)

    def apply(self, request: ChatRequest, declared: str | None) -> tuple[ChatRequest, Decision]:
        """The decision for ``request``, and the request as it may leave (redacted or not)."""
        found = [self.detector.find(m.content) if m.content else [] for m in request.messages]
        counts: dict[str, int] = {}
        for findings in found:
            for finding in findings:
                counts[finding.kind] = counts.get(finding.kind, 0) + 1
        classes = self._classes(declared, counts)
        rules = self.by_class[classes[-1]]
        decision = self._decided(classes, counts, rules, self._injection(request))
        redacting = [r for r in rules if r.action == "redact"]
        if not redacting or decision.blocked_by is not None or not counts:
            return request, decision
        return _redacted(request, found, redacting, decision)

    def _decided(
        self,
        classes: tuple[str, ...],
        counts: dict[str, int],
        rules: tuple[Rule, ...],
        score: float | None,
    ) -> Decision:
        """The rules' actions and limits, and injection's when the score reaches the threshold."""
        actions = [r.action for r in rules]
        names = [r.name for r in rules]
        limits = [r.limit for r in rules if r.limit is not None]
        blocked_by = next((r.name for r in rules if r.action == "block"), None)
        flagged = score is not None and score >= self.config.injection.threshold
        if flagged:
            act = self.config.injection.action
            actions.append(act)
            names.append(INJECTION)
            limits += [self.hardened] if act == "restrict" else []
            blocked_by = blocked_by or (INJECTION if act == "block" else None)
        return Decision(
            classes, counts, tuple(names), strongest(actions), score, flagged, tuple(limits),
            blocked_by=blocked_by,
        )  # fmt: skip

    def allows(self, rule: RuleConfig, model: str) -> bool:
        """Whether ``rule``'s where and sets both hold for ``model`` (remembered per pair)."""
        known = self._allowed.get((rule.name, model))
        if known is None:
            members = {m for s in rule.sets for m in self.config.sets[s]}
            known = (not rule.sets or model in members) and (
                rule.where is None or holds(rule.where, self._attributes(model))
            )
            if len(self._allowed) < MEMO:  # a client may name any provider/model: bounded
                self._allowed[(rule.name, model)] = known
        return known

    def _rule(self, raw: RuleConfig) -> Rule:
        limit = None
        if raw.where is not None or raw.sets:
            limit = Limit(raw.name, lambda m: self.allows(raw, m), describe(raw))
        return Rule(raw.name, raw.action, frozenset(raw.kinds), raw.restore, limit)

    def _classes(self, declared: str | None, counts: Mapping[str, int]) -> tuple[str, ...]:
        found: set[str] = {self.config.classify.default}
        if declared is not None:
            found.add(declared)
        found.update(self.detect[k] for k in counts if k in self.detect)
        return tuple(sorted(found, key=RANK.__getitem__))

    def _injection(self, request: ChatRequest) -> float | None:
        injection = self.config.injection
        if injection.action == "off":
            return None
        scores = [
            self.scorer.score(m.content)
            for m in request.messages
            if m.content and m.role in injection.roles
        ]
        return max(scores, default=0.0)


def from_config(config: Config) -> Policies | None:
    """The configuration's policies, or ``None`` when it has none (then nothing is checked)."""
    if config.policies is None:
        return None
    kinds = {name: p.kind for name, p in config.providers.items()}

    def resolved(model: str, found: ModelAttributes) -> ModelAttributes:
        hosted = found.self_hosted
        if hosted is None:
            hosted = kinds.get(model.partition("/")[0]) == "local"
        retains = found.retains_data if found.retains_data is not None else not hosted
        return found.model_copy(update={"self_hosted": hosted, "retains_data": retains})

    known = {m.name: resolved(m.name, m.attributes) for m in config.models}

    def attributes(model: str) -> ModelAttributes:
        found = known.get(model)
        return found if found is not None else resolved(model, ModelAttributes())

    return Policies(config.policies, attributes)


def holds(where: Where, attributes: ModelAttributes) -> bool:
    """Whether a model with ``attributes`` meets every condition of ``where``."""
    region = (where.region,) if isinstance(where.region, str) else where.region
    return (
        (where.self_hosted is None or attributes.self_hosted == where.self_hosted)
        and (region is None or attributes.region in region)
        and (where.retains_data is None or attributes.retains_data == where.retains_data)
        and set(where.certifications) <= set(attributes.certifications)
        and (where.hardened is None or attributes.hardened == where.hardened)
    )


def describe(rule: RuleConfig) -> str:
    """What a rule allows, for people: 'models with self_hosted=true in set onprem'."""
    parts = []
    if rule.where is not None:
        conditions = rule.where.model_dump(exclude_defaults=True)
        shown = ", ".join(f"{k}={_shown(v)}" for k, v in conditions.items())
        parts.append(f"models with {shown}" if shown else "any model")
    if rule.sets:
        parts.append(f"set {' or '.join(rule.sets)}")
    return " in ".join(parts) if len(parts) == 2 else (parts[0] if parts else "any model")


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return "|".join(str(v) for v in value)
    return str(value)


def _applies(rule: RuleConfig, data_class: str) -> bool:
    return not rule.classes or data_class in rule.classes


def _redacted(
    request: ChatRequest, found: list[list[Finding]], rules: list[Rule], decision: Decision
) -> tuple[ChatRequest, Decision]:
    kinds: frozenset[str] | None = frozenset().union(*(r.kinds for r in rules))
    if any(not r.kinds for r in rules):
        kinds = None  # one rule redacts every kind
    vault, messages = Vault(), []
    for message, findings in zip(request.messages, found, strict=True):
        chosen = [f for f in findings if kinds is None or f.kind in kinds]
        if chosen and message.content:
            message = replace(message, content=redact(message.content, chosen, vault))
        messages.append(message)
    restore = all(r.restore for r in rules)
    done = replace(
        decision, vault=vault if restore and vault.values else None, redacted=len(vault.values)
    )
    return replace(request, messages=tuple(messages)), done
