"""Model cards: what the router knows about a model before it sees a prompt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCard:
    """One model at one provider, with its prices and limits.

    Prices are US dollars per million tokens; ``None`` means unknown, never free.
    ``tier`` ranks models by expected ability (higher is stronger) for routers that have
    no outcomes to learn from.
    """

    name: str
    input_usd_per_mtok: float | None = None
    output_usd_per_mtok: float | None = None
    context_window: int | None = None
    tier: int | None = None

    @property
    def priced(self) -> bool:
        return self.input_usd_per_mtok is not None and self.output_usd_per_mtok is not None
