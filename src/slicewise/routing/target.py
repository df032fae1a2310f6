"""Targets: the knob a route is tuned by.

Four kinds, all parsed from one short string:

    ``0.95`` or ``share=0.95``   realised quality at this share of best single's quality
    ``quality=0.8``              cheapest model whose predicted quality is at least 0.8
    ``max_cost=0.002``           best predicted quality among models costing at most $0.002
    ``wtp=3``                    maximise quality minus 3 x (cost / best single's cost)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from slicewise.errors import ConfigError

Kind = Literal["share", "quality", "max_cost", "wtp"]
KINDS: tuple[Kind, ...] = ("share", "quality", "max_cost", "wtp")


@dataclass(frozen=True)
class Target:
    kind: Kind
    value: float

    def __str__(self) -> str:
        return f"{self.kind}={self.value:g}"


def parse_target(text: str) -> Target:
    """``"0.95"`` -> share 0.95; ``"kind=value"`` for the other kinds."""
    kind, _, raw = text.rpartition("=")
    kind = kind.strip() or "share"
    if kind not in KINDS:
        raise ConfigError(
            f"target {text!r}: unknown kind {kind!r}; use one of "
            f"{', '.join(KINDS)} (for example share=0.95 or max_cost=0.002)"
        )
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"target {text!r}: {raw!r} is not a number") from None
    _check(kind, value, text)
    return Target(kind, value)


def _check(kind: str, value: float, text: str) -> None:
    if value != value or value < 0:
        raise ConfigError(f"target {text!r}: the value must be a number >= 0")
    if kind == "share" and not 0 < value <= 1.5:
        raise ConfigError(
            f"target {text!r}: a share of best single's quality must be in "
            "(0, 1.5], for example 0.95"
        )
    if kind == "quality" and value > 1:
        raise ConfigError(f"target {text!r}: quality is a score in [0, 1]")
