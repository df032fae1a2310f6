"""Per-model quality predictors: one logistic regression per model on prompt features.

Each model gets its own classifier of "answers well" from the prompt's embedding and shape
features; fractional scores count as weighted positive and negative examples. Inference is a
single matrix product, so adding models costs little on the hot path.
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

DEFAULT_C = 1.0


def design(features: Features) -> np.ndarray:
    """The predictor's input: embedding and shape features side by side."""
    parts = [features.shape] if features.embedding is None else [features.embedding, features.shape]
    return np.hstack(parts).astype(np.float32, copy=False)


class PredictorRouter(Router):
    kind = "predictor"

    def __init__(self, models: Sequence[str], cost: CostModel, featurizer: Featurizer | None,
                 calibration: Calibration | None, cards: dict[str, ModelCard] | None = None,
                 weights: np.ndarray | None = None, bias: np.ndarray | None = None):
        super().__init__(models, cost, featurizer, calibration, cards)
        self.weights = np.zeros((len(self.models), 0), np.float32) if weights is None else weights
        self.bias = np.zeros(len(self.models)) if bias is None else bias

    @staticmethod
    def fit(features: Features, scores: np.ndarray, c: float = DEFAULT_C
            ) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``(models, dims)`` and bias ``(models,)``, one classifier per column."""
        from sklearn.linear_model import LogisticRegression  # training only

        x = design(features)
        weights = np.zeros((scores.shape[1], x.shape[1]), np.float32)
        bias = np.zeros(scores.shape[1])
        for j in range(scores.shape[1]):
            known = ~np.isnan(scores[:, j])
            y = scores[known, j]
            if y.min() == y.max():  # one class only: a constant prediction
                bias[j] = _logit(float(y.mean()))
                continue
            # fractional scores: every prompt is a positive with weight s, a negative with 1-s
            xs = np.vstack([x[known], x[known]])
            ys = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
            ws = np.concatenate([y, 1.0 - y])
            keep = ws > 0
            clf = LogisticRegression(C=c, max_iter=300)
            clf.fit(xs[keep], ys[keep], sample_weight=ws[keep])
            weights[j] = clf.coef_[0]
            bias[j] = clf.intercept_[0]
        return weights, bias

    def predict_quality(self, features: Features) -> np.ndarray:
        z = design(features) @ self.weights.T + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "bias": self.bias}

    @classmethod
    def restore(cls, models: Sequence[str], cost: CostModel, featurizer: Featurizer | None,
                calibration: Calibration | None, cards: dict[str, ModelCard],
                arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Router:
        return cls(models, cost, featurizer, calibration, cards, arrays["weights"],
                   arrays["bias"])


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))
