"""One transaction as the ledger stores it. Never a prompt, a completion or a key."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Transaction:
    request_id: str
    created: float
    """Unix time the request arrived."""
    endpoint: str
    """``openai.chat`` or ``anthropic.messages``."""
    route: str
    """The route name (``auto``), or ``explicit`` when the client named a model."""
    router: str
    requested: str
    """The ``model`` the client sent."""
    model: str | None
    """The ``provider/model`` that served it; ``None`` if none did."""
    status: int
    latency_ms: float
    stream: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: Decimal | None = None
    """``None`` when the serving model's price is unknown (reported, never zero)."""
    baseline_model: str | None = None
    baseline_cost_usd: Decimal | None = None
    candidates: tuple[dict[str, Any], ...] = ()
    """What the router weighed: model, predicted quality, predicted cost, eligible."""
    fallbacks: tuple[dict[str, Any], ...] = ()
    """Each failed attempt before the answer: model, error kind, status."""
    error: str | None = None
    tenant: str | None = None
    key_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    data_class: str | None = None
    """The request's data class as the policies found it; ``None`` without policies."""
    policy_action: str | None = None
    """The strongest action the policies took: allow, flag, redact, restrict, route, block."""
    policy_rules: tuple[str, ...] = ()
    """Names of the rules that applied (``injection`` when the injection check acted)."""
    detections: dict[str, int] = field(default_factory=dict)
    """Personal data and secrets found, kind -> count; never the values."""
    injection: float | None = None
    """The request's prompt-injection score in [0, 1]."""
    flagged: bool = False
    """Whether the score reached the injection threshold."""
