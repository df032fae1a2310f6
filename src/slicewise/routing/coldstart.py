"""Cold-start router: sensible routing on day one, with no outcomes to learn from.

Each model's ability comes from its card: its ``tier`` when given, else the rank of its
blended list price among the candidates (dearer is assumed stronger), scaled to [0, 1]. Each
prompt's difficulty comes from its shape (length, code and maths markers). Predicted quality
falls as difficulty rises above ability::

    quality = sigmoid(SLOPE * (ability - difficulty) + OFFSET)

A share target ``s`` picks the cheapest model predicted to reach ``s`` times the best
predicted quality for that prompt. The constants are priors, not fitted; train a router on
your outcomes to replace them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slicewise.cards import ModelCard
from slicewise.errors import ConfigError
from slicewise.features import SHAPE_NAMES
from slicewise.routing import cost as costs
from slicewise.routing import decide
from slicewise.routing.router import Features, Router
from slicewise.routing.target import Target

SLOPE = 4.0
OFFSET = 1.5
# difficulty = BASE + sum(weight * shape feature), clipped to [0, 1]
BASE = -0.25
WEIGHTS = {
    "log_chars": 0.5,
    "code_markers": 0.35,
    "math_markers": 0.35,
    "math_share": 0.15,
    "log_lines": 0.1,
}
_COLUMNS = np.array([SHAPE_NAMES.index(name) for name in WEIGHTS])
_WEIGHTS = np.array(list(WEIGHTS.values()), dtype=np.float32)


class ColdStartRouter(Router):
    kind = "coldstart"
    uses_embedding = False

    def __init__(self, cards: Sequence[ModelCard]):
        if not cards:
            raise ConfigError("the cold-start router needs at least one model card")
        super().__init__(
            [c.name for c in cards], costs.from_cards(cards), None, None, {c.name: c for c in cards}
        )
        self.ability = abilities(cards)

    def difficulty(self, features: Features) -> np.ndarray:
        score = BASE + features.shape[:, _COLUMNS] @ _WEIGHTS
        return np.asarray(np.clip(score, 0.0, 1.0))

    def predict_quality(self, features: Features) -> np.ndarray:
        gap = self.ability[None, :] - self.difficulty(features)[:, None]
        return np.asarray(1.0 / (1.0 + np.exp(-(SLOPE * gap + OFFSET))))

    def choose(
        self,
        quality: np.ndarray,
        cost: np.ndarray,
        target: Target | None,
        eligible: np.ndarray | None = None,
    ) -> np.ndarray:
        target = target or Target("share", 1.0)
        if target.kind != "share":
            return super().choose(quality, cost, target, eligible)
        masked = quality if eligible is None else np.where(eligible, quality, -np.inf)
        bar = target.value * masked.max(axis=1, keepdims=True)
        return decide.by_threshold(quality - bar, cost, 0.0, eligible)


def abilities(cards: Sequence[ModelCard]) -> np.ndarray:
    """Each model's ability in [0, 1]: from tiers when every card has one, else price rank."""
    if all(c.tier is not None for c in cards):
        tiers = np.array([float(c.tier or 0) for c in cards])
        return _scale(tiers)
    price = np.array([_blended(c) for c in cards])
    known = ~np.isnan(price)
    ranks = np.full(len(cards), 0.5)
    if known.sum() > 1:
        order = price[known].argsort().argsort()
        ranks[known] = order / (known.sum() - 1)
    return ranks


def _blended(card: ModelCard) -> float:
    if not card.priced:
        return float("nan")
    # three input tokens per output token, a common chat mix
    return 0.75 * float(card.input_usd_per_mtok or 0) + 0.25 * float(card.output_usd_per_mtok or 0)


def _scale(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return np.full(len(values), 0.5) if span == 0 else (values - values.min()) / span
