"""Cluster-profile router: prompts fall into regions; each model has a quality per region.

Training clusters the prompt embeddings (k-means on the unit sphere) and records each model's
mean score in each cluster, shrunk towards its overall mean where a cluster holds few prompts.
A prompt's predicted quality is the profile averaged over clusters, weighted by a softmax of its
similarity to each centroid.

Profiles are per model and independent: a new or updated model is added from a few hundred
probe outcomes (``with_model``) without touching the others.
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

PRIOR = 5.0
"""Pseudo-prompts of the model's overall mean added to each cluster's profile."""

TEMPERATURE = 0.05


class ClusterRouter(Router):
    kind = "cluster"

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
        centroids: np.ndarray | None = None,
        profile: np.ndarray | None = None,
        temperature: float = TEMPERATURE,
    ):
        super().__init__(models, cost, featurizer, calibration, cards)
        self.centroids = np.zeros((1, 1), np.float32) if centroids is None else centroids
        self.profile = np.zeros((1, len(self.models))) if profile is None else profile
        self.temperature = temperature

    @staticmethod
    def fit_centroids(embedding: np.ndarray, clusters: int, seed: int = 0) -> np.ndarray:
        from sklearn.cluster import KMeans  # training only

        clusters = max(1, min(clusters, len(embedding) // 10 or 1))
        km = KMeans(n_clusters=clusters, n_init=3, random_state=seed).fit(embedding)
        centroids = km.cluster_centers_.astype(np.float32)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        return np.asarray(centroids / np.maximum(norms, 1e-12), dtype=np.float32)

    @staticmethod
    def fit_profile(weights: np.ndarray, scores: np.ndarray, prior: float = PRIOR) -> np.ndarray:
        """Per-cluster mean score ``(clusters, models)`` from soft memberships ``(n, clusters)``."""
        known = ~np.isnan(scores)
        filled = np.where(known, scores, 0.0)
        overall = filled.sum(axis=0) / np.maximum(known.sum(axis=0), 1)
        mass = weights.T @ known.astype(float)
        total = weights.T @ filled
        return np.asarray((total + prior * overall) / (mass + prior))

    def memberships(self, embedding: np.ndarray) -> np.ndarray:
        """Softmax over centroid similarity, ``(n, clusters)``."""
        logits = (embedding @ self.centroids.T) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return np.asarray(weights / weights.sum(axis=1, keepdims=True))

    def predict_quality(self, features: Features) -> np.ndarray:
        assert features.embedding is not None
        return np.asarray(self.memberships(features.embedding) @ self.profile)

    def with_model(
        self,
        name: str,
        embedding: np.ndarray,
        scores: np.ndarray,
        fixed_cost: float,
        per_token_cost: float,
    ) -> ClusterRouter:
        """A copy that also knows ``name``, profiled from probe prompts and their scores.

        The other models' profiles are kept as they are. The copy has no calibration for the
        enlarged set; recalibrate on outcomes that include the new model.
        """
        column = self.fit_profile(self.memberships(embedding), scores[:, None])
        models = [m for m in self.models if m != name]
        keep = [self.models.index(m) for m in models]
        cost = CostModel(self.cost.fixed[keep], self.cost.per_token[keep])
        return ClusterRouter(
            [*models, name],
            cost.with_model(fixed_cost, per_token_cost),
            self.featurizer,
            None,
            self.cards,
            self.centroids,
            np.hstack([self.profile[:, keep], column]),
            self.temperature,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {"centroids": self.centroids, "profile": self.profile}

    def params(self) -> dict[str, Any]:
        return {"temperature": self.temperature}

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
            arrays["centroids"],
            arrays["profile"],
            float(params.get("temperature", TEMPERATURE)),
        )
