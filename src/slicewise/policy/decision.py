"""What the policies decided for one request: its classes, detections, rules, action, limits.

A ``Decision`` is what the planner asks (``refuses``: may this model see the request?), what
the ledger and the metrics record (``audit``: counts and names, never a detected value), and
what puts redacted values back into the answer (``vault``, only when the rules say restore).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slicewise.errors import RequestError
from slicewise.policy.redact import Vault

STRENGTH = ("allow", "flag", "redact", "restrict", "route", "block")
"""Actions weakest first: the action a decision reports is the strongest of those it took."""

INJECTION = "injection"
"""The name the injection check goes by in errors, the ledger and the metrics."""


@dataclass(frozen=True)
class Limit:
    """One rule's say on models: ``allows(model)``; named in the planner's explanations."""

    rule: str
    allows: Callable[[str], bool]
    what: str
    """What the rule allows, for people: 'models with self_hosted=true', 'set onprem'."""


@dataclass(frozen=True)
class Decision:
    classes: tuple[str, ...]
    """Every class the request got, lowest first; the last is the request's class."""
    detections: Mapping[str, int]
    """Kind -> how many were found; never the values."""
    rules: tuple[str, ...]
    """Names of the rules that applied (and ``injection`` when it acted)."""
    action: str
    injection: float | None
    flagged: bool
    limits: tuple[Limit, ...] = ()
    vault: Vault | None = None
    """Redacted values to restore in the answer; ``None`` when nothing is restored."""
    blocked_by: str | None = None
    redacted: int = 0
    """How many values were replaced by placeholders before the request left."""

    @property
    def data_class(self) -> str:
        return self.classes[-1]

    def refuses(self, model: str) -> str:
        """Why the policies keep ``model`` from this request, or '' when they do not."""
        for limit in self.limits:
            if not limit.allows(model):
                return f"policy rule {limit.rule!r} allows only {limit.what}"
        return ""

    def refusal(self) -> RequestError:
        """The 400 a blocked request gets, naming the rule and why (never a detected value)."""
        if self.blocked_by == INJECTION:
            why = (
                f"it scored {self.injection:.2f} as a prompt-injection or jailbreak attempt; "
                "rephrase the request, or ask the gateway's operator to review the policy"
            )
        else:
            found = ", ".join(f"{k} x{n}" for k, n in sorted(self.detections.items()))
            why = f"the request is {self.data_class} data" + (f" ({found})" if found else "")
            why += "; remove that data or send it through a route the policy allows"
        return RequestError(
            f"blocked by policy {self.blocked_by!r}: {why}", status=400, code="policy_blocked"
        )

    def audit(self) -> dict[str, Any]:
        """The ledger's policy fields (``Transaction`` has one of each)."""
        return {
            "data_class": self.data_class,
            "policy_action": self.action,
            "policy_rules": self.rules,
            "detections": dict(self.detections),
            "injection": None if self.injection is None else round(self.injection, 4),
            "flagged": self.flagged,
        }


def strongest(actions: list[str]) -> str:
    return max(actions, key=STRENGTH.index, default="allow")
