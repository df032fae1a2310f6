"""Baseline routers: they ignore the prompt.

``constant`` predicts every model's training mean for every prompt, so the decision rule
walks the single models' cost-quality hull. ``fixed``, ``cheapest`` and ``best-single``
always pick one model, whatever the target. ``random`` mixes the two hull models around the
target at random, which realises the zero router.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from slicewise.cards import ModelCard
from slicewise.errors import ConfigError
from slicewise.features import Featurizer
from slicewise.routing.calibrate import Calibration
from slicewise.routing.cost import CostModel
from slicewise.routing.router import Features, Router
from slicewise.routing.target import Target


class ConstantRouter(Router):
    """Every prompt gets each model's mean training quality."""

    kind = "constant"
    uses_embedding = False

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
        means: np.ndarray | None = None,
    ):
        super().__init__(models, cost, featurizer, calibration, cards)
        self.means = np.zeros(len(self.models)) if means is None else np.asarray(means, float)

    @classmethod
    def fit(cls, scores: np.ndarray) -> np.ndarray:
        return np.asarray(np.nan_to_num(np.nanmean(scores, axis=0), nan=0.0))

    def predict_quality(self, features: Features) -> np.ndarray:
        return np.broadcast_to(self.means, (len(features.tokens), len(self.models))).copy()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"means": self.means}

    @classmethod
    def restore(
        cls,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard],
        arrays: dict[str, np.ndarray],
        params: dict[str, Any],
    ) -> Router:
        return cls(models, cost, featurizer, calibration, cards, arrays["means"], **params)


class FixedRouter(ConstantRouter):
    """Always the same model; ``model`` defaults to best single."""

    kind = "fixed"

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
        means: np.ndarray | None = None,
        model: str | None = None,
    ):
        super().__init__(models, cost, featurizer, calibration, cards, means)
        if model is None:
            model = self.models[int(np.argmax(self.means))]
        if model not in self.models:
            raise ConfigError(f"fixed model {model!r} is not one of {', '.join(self.models)}")
        self.model = model

    def choose(
        self,
        quality: np.ndarray,
        cost: np.ndarray,
        target: Target | None,
        eligible: np.ndarray | None = None,
    ) -> np.ndarray:
        j = self.models.index(self.model)
        if eligible is not None and not eligible[:, j].all():
            return super().choose(quality, cost, target, eligible)
        return np.full(len(quality), j, dtype=np.int64)

    def params(self) -> dict[str, Any]:
        return {"model": self.model}


class RandomRouter(ConstantRouter):
    """Sends each prompt at random to one of the two hull models that bracket the target."""

    kind = "random"

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
        means: np.ndarray | None = None,
        seed: int = 0,
    ):
        super().__init__(models, cost, featurizer, calibration, cards, means)
        self.seed = seed

    def choose(
        self,
        quality: np.ndarray,
        cost: np.ndarray,
        target: Target | None,
        eligible: np.ndarray | None = None,
    ) -> np.ndarray:
        if target is None or target.kind not in ("share", "quality") or eligible is not None:
            return super().choose(quality, cost, target, eligible)
        goal = target.value * (self._best() if target.kind == "share" else 1.0)
        mean_cost = cost.mean(axis=0)
        low, high, p_high = _bracket(self.means, mean_cost, goal)
        rng = np.random.default_rng(self.seed)
        return np.where(rng.random(len(quality)) < p_high, high, low).astype(np.int64)

    def _best(self) -> float:
        if self.calibration is not None:
            return self.calibration.best_quality
        return float(self.means.max())

    def params(self) -> dict[str, Any]:
        return {"seed": self.seed}


def _bracket(means: np.ndarray, costs: np.ndarray, goal: float) -> tuple[int, int, float]:
    """Two models on the cost-quality hull around ``goal``, and the share for the better."""
    known = ~np.isnan(costs)
    order = [int(j) for j in np.argsort(np.where(known, costs, np.inf)) if known[j]]
    hull: list[int] = []
    for j in order:
        if hull and means[j] <= means[hull[-1]]:
            continue
        while len(hull) >= 2 and _below(hull[-2], hull[-1], j, means, costs):
            hull.pop()
        hull.append(j)
    for a, b in itertools.pairwise(hull):
        if means[b] >= goal:
            share = (goal - means[a]) / (means[b] - means[a])
            return a, b, float(np.clip(share, 0.0, 1.0))
    return hull[-1], hull[-1], 1.0


def _below(a: int, b: int, c: int, q: np.ndarray, x: np.ndarray) -> bool:
    """Whether b lies on or under the segment from a to c (so it leaves the concave hull)."""
    return bool((q[b] - q[a]) * (x[c] - x[a]) <= (q[c] - q[a]) * (x[b] - x[a]))
