"""Per-model quality predictors: one ridge regression per model on prompt features.

Each model's score (fractions included) is regressed on the prompt's embedding and shape
features, all models in one closed-form solve: on 5,000 prompts it trains in a fraction of a
second where per-model logistic regressions took seconds each, and routes as well or better in
cross-validation (stronger regularisation mattered more than the link function). Inference is a
single matrix product, so adding models costs little on the hot path.

Artifacts saved by the earlier logistic version carry no ``link`` parameter and keep their
sigmoid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from slicewise.cards import ModelCard
from slicewise.features import Featurizer
from slicewise.routing.calibrate import Calibration
from slicewise.routing.cost import CostModel
from slicewise.routing.router import Features, Router

ALPHA = 30.0
"""Ridge penalty on the weights; the intercept is not penalised."""


def design(features: Features) -> np.ndarray:
    """The predictor's input: embedding and shape features side by side."""
    parts = [features.shape] if features.embedding is None else [features.embedding, features.shape]
    return np.hstack(parts).astype(np.float32, copy=False)


class PredictorRouter(Router):
    kind = "predictor"

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
        link: str = "identity",
    ):
        super().__init__(models, cost, featurizer, calibration, cards)
        self.weights = np.zeros((len(self.models), 0), np.float32) if weights is None else weights
        self.bias = np.zeros(len(self.models)) if bias is None else bias
        self.link = link

    @staticmethod
    def fit(
        features: Features, scores: np.ndarray, alpha: float = ALPHA
    ) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``(models, dims)`` and bias ``(models,)``, one regression per column."""
        x = design(features).astype(np.float64)
        known = ~np.isnan(scores)
        weights = np.zeros((scores.shape[1], x.shape[1]), np.float32)
        bias = np.zeros(scores.shape[1])
        if known.all():  # one solve for every model
            w, b = _ridge(x, scores, alpha)
            return w.T.astype(np.float32), b
        for j in range(scores.shape[1]):
            rows = known[:, j]
            if rows.any():
                w, b = _ridge(x[rows], scores[rows, j : j + 1], alpha)
                weights[j], bias[j] = w[:, 0], b[0]
        return weights, bias

    def predict_quality(self, features: Features) -> np.ndarray:
        z = design(features) @ self.weights.T + self.bias
        if self.link == "logistic":
            return np.asarray(1.0 / (1.0 + np.exp(-z)))
        return np.asarray(np.clip(z, 0.0, 1.0))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "bias": self.bias}

    def params(self) -> dict[str, Any]:
        return {"link": self.link}

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
        return cls(
            models,
            cost,
            featurizer,
            calibration,
            cards,
            arrays["weights"],
            arrays["bias"],
            str(params.get("link", "logistic")),
        )


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge weights ``(dims, outputs)`` and intercepts ``(outputs,)`` of ``y`` on ``x``."""
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc = x - x_mean
    gram = xc.T @ xc + alpha * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ (y - y_mean))
    return w, y_mean - x_mean @ w
