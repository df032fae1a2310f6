"""The value a router returns for one request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """One model the router weighed, with what it expected of it."""

    model: str
    quality: float
    cost: float | None
    """Predicted cost in USD; ``None`` when the model's price is unknown."""
    eligible: bool = True
    note: str = ""


@dataclass(frozen=True)
class Route:
    """The chosen model, every candidate weighed, and why."""

    model: str
    router: str
    candidates: tuple[Candidate, ...]
    reason: str

    def candidate(self, model: str) -> Candidate:
        return next(c for c in self.candidates if c.model == model)
