"""Predicted cost of sending a prompt to each model.

Cost is affine in the prompt's input tokens: ``usd = fixed + per_token * tokens``. With a
priced card, ``per_token`` is the input price and ``fixed`` the typical output tokens (learned
from outcomes, else ``DEFAULT_OUTPUT_TOKENS``) times the output price. Without prices, both are
fitted to the recorded costs. Input tokens are estimated as characters / 4, which is what the
outcomes sources use and is cheap enough for the hot path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from slicewise.cards import ModelCard

CHARS_PER_TOKEN = 4.0
DEFAULT_OUTPUT_TOKENS = 200.0


def count_tokens(texts: Sequence[str]) -> np.ndarray:
    """Estimated input tokens per text (characters / 4)."""
    return (
        np.fromiter((len(t) for t in texts), dtype=np.float64, count=len(texts)) / CHARS_PER_TOKEN
    )


@dataclass(frozen=True, eq=False)
class CostModel:
    """Per-model affine cost in input tokens; NaN coefficients mean the price is unknown."""

    fixed: np.ndarray
    per_token: np.ndarray

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        """USD per prompt and model, shape ``(len(tokens), models)``; NaN where unknown."""
        return np.asarray(self.fixed[None, :] + tokens[:, None] * self.per_token[None, :])

    def with_model(self, fixed: float, per_token: float) -> CostModel:
        return CostModel(np.append(self.fixed, fixed), np.append(self.per_token, per_token))

    def known(self) -> np.ndarray:
        return np.asarray(~(np.isnan(self.fixed) | np.isnan(self.per_token)))


def from_cards(
    cards: Sequence[ModelCard], output_tokens: Mapping[str, float] | None = None
) -> CostModel:
    """Cost from list prices alone (cold start): NaN for cards without prices."""
    output_tokens = output_tokens or {}
    fixed, per_token = [], []
    for card in cards:
        if not card.priced:
            fixed.append(np.nan)
            per_token.append(np.nan)
            continue
        out = output_tokens.get(card.name, DEFAULT_OUTPUT_TOKENS)
        fixed.append(out * float(card.output_usd_per_mtok or 0) / 1e6)
        per_token.append(float(card.input_usd_per_mtok or 0) / 1e6)
    return CostModel(np.array(fixed), np.array(per_token))


def fit(
    tokens: np.ndarray,
    costs: np.ndarray,
    output_tokens: np.ndarray,
    cards: Sequence[ModelCard | None],
) -> CostModel:
    """Learn each model's cost from prices where known, else from recorded costs.

    ``costs`` and ``output_tokens`` are ``(prompts, models)`` with NaN where missing.
    """
    fixed = np.full(costs.shape[1], np.nan)
    per_token = np.full(costs.shape[1], np.nan)
    for j, card in enumerate(cards):
        if card is not None and card.priced:
            outs = output_tokens[:, j]
            typical = float(np.nanmean(outs)) if (~np.isnan(outs)).any() else DEFAULT_OUTPUT_TOKENS
            fixed[j] = typical * float(card.output_usd_per_mtok or 0) / 1e6
            per_token[j] = float(card.input_usd_per_mtok or 0) / 1e6
        else:
            fixed[j], per_token[j] = _least_squares(tokens, costs[:, j])
    return CostModel(fixed, per_token)


def _least_squares(tokens: np.ndarray, cost: np.ndarray) -> tuple[float, float]:
    """Non-negative affine fit of cost on tokens; (nan, nan) without any recorded cost."""
    known = ~np.isnan(cost)
    if not known.any():
        return np.nan, np.nan
    x, y = tokens[known], cost[known]
    if known.sum() < 2 or np.ptp(x) == 0:
        return float(y.mean()), 0.0
    slope, intercept = np.polyfit(x, y, 1)
    if intercept < 0:
        return 0.0, float(max((x * y).sum() / (x * x).sum(), 0.0))
    if slope < 0:
        return float(y.mean()), 0.0
    return float(intercept), float(slope)
