"""Training: from an outcomes table to a calibrated router.

Steps: featurise the prompts once; fit the router's quality model on every prompt; route each
prompt with a model trained without it (k-fold, out-of-fold predictions) and record the
realised quality and cost at a grid of willingness to pay (``Calibration``); fit the cost model.
The result routes new prompts so that their realised quality lands on the target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from slicewise import features as feats
from slicewise.errors import ConfigError, DataError
from slicewise.outcomes import Outcomes
from slicewise.routing import cost as costs
from slicewise.routing.baselines import ConstantRouter, FixedRouter, RandomRouter
from slicewise.routing.calibrate import Calibration, calibrate
from slicewise.routing.cluster import ClusterRouter
from slicewise.routing.ensemble import EnsembleRouter
from slicewise.routing.knn import KnnRouter
from slicewise.routing.learn import train_cascade
from slicewise.routing.predictor import PredictorRouter
from slicewise.routing.router import Features, Router

logger = logging.getLogger(__name__)

LEARNED = ("ensemble", "predictor", "knn", "cluster", "cascade")
BASELINES = ("constant", "best-single", "cheapest", "random")
KINDS = LEARNED + BASELINES
DEFAULT_KIND = "ensemble"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    kind: str = DEFAULT_KIND
    features: str = feats.DEFAULT
    folds: int = 5
    seed: int = 0
    clusters: int = 32


def train(
    outcomes: Outcomes, settings: Settings | None = None, progress: Progress | None = None
) -> Router:
    """A calibrated router of ``settings.kind`` trained on ``outcomes``."""
    settings = settings or Settings()
    if settings.kind not in KINDS:
        raise ConfigError(
            f"router kind {settings.kind!r} is unknown; use one of {', '.join(KINDS)}"
        )
    table = _trainable(outcomes)
    say = progress or (lambda _: None)

    texts = [feats.prompt_text(m) for m in table.messages]
    featurizer = feats.featurizer(settings.features) if settings.kind in LEARNED else None
    if featurizer is not None:
        say(f"featurising {len(texts)} prompts ({settings.features})")
        featurizer.fit(texts)
    features = _features(texts, featurizer)
    cost = costs.fit(
        features.tokens,
        table.costs,
        table.output_tokens,
        [table.cards.get(m) for m in table.models],
    )

    if settings.kind == "cascade":
        complete = table.complete()
        keep = np.flatnonzero(np.isin(table.ids, complete.ids))
        folds = _folds(len(complete), settings)
        cascade = train_cascade(complete, _subset(features, keep), featurizer, cost, folds, say)
        cascade.cards = dict(table.cards)
        return cascade

    say(f"calibrating on {settings.folds} folds")
    predicted = _out_of_fold(table, features, settings)
    calibration = _calibration(table, predicted, cost.predict(features.tokens))

    say("fitting on all prompts")
    router = _fit(settings, table, features, featurizer, cost, calibration)
    router.cards = dict(table.cards)
    return router


def _trainable(outcomes: Outcomes) -> Outcomes:
    keep = np.flatnonzero(~np.isnan(outcomes.scores).all(axis=1))
    if len(keep) < 10:
        raise DataError(
            outcomes.path,
            None,
            "outcomes",
            f"only {len(keep)} prompt(s) have outcomes; training needs at least 10",
        )
    if len(outcomes.models) < 2:
        raise DataError(
            outcomes.path,
            None,
            "outcomes",
            "only one model has outcomes; routing needs at least two",
        )
    return outcomes.take(keep)


def _features(texts: list[str], featurizer: feats.Featurizer | None) -> Features:
    embedding = featurizer.transform(texts) if featurizer is not None else None
    return Features(costs.count_tokens(texts), feats.shape_features(texts), embedding)


def _subset(features: Features, rows: np.ndarray) -> Features:
    emb = None if features.embedding is None else features.embedding[rows]
    return Features(features.tokens[rows], features.shape[rows], emb)


def _fit(
    settings: Settings,
    table: Outcomes,
    features: Features,
    featurizer: feats.Featurizer | None,
    cost: costs.CostModel,
    calibration: Calibration | None,
) -> Router:
    kind, scores, models = settings.kind, table.scores, table.models
    if kind == "predictor":
        return _predictor(features, scores, models, cost, featurizer, calibration)
    if kind == "knn":
        return _knn(features, scores, models, cost, featurizer, calibration)
    if kind == "ensemble":
        return EnsembleRouter(
            models,
            cost,
            featurizer,
            calibration,
            None,
            _predictor(features, scores, models, cost, None, None),
            _knn(features, scores, models, cost, None, None),
        )
    if kind == "cluster":
        assert features.embedding is not None
        centroids = ClusterRouter.fit_centroids(
            features.embedding, settings.clusters, settings.seed
        )
        router = ClusterRouter(models, cost, featurizer, calibration, None, centroids)
        router.profile = router.fit_profile(router.memberships(features.embedding), scores)
        return router
    means = ConstantRouter.fit(scores)
    if kind == "random":
        return RandomRouter(models, cost, None, calibration, None, means, settings.seed)
    if kind == "constant":
        return ConstantRouter(models, cost, None, calibration, None, means)
    model = models[_best(table)] if kind == "best-single" else models[_cheapest(table)]
    return FixedRouter(models, cost, None, calibration, None, means, model)


def _predictor(
    features: Features,
    scores: np.ndarray,
    models: tuple[str, ...],
    cost: costs.CostModel,
    featurizer: feats.Featurizer | None,
    calibration: Calibration | None,
) -> PredictorRouter:
    weights, bias = PredictorRouter.fit(features, scores)
    return PredictorRouter(models, cost, featurizer, calibration, None, weights, bias)


def _knn(
    features: Features,
    scores: np.ndarray,
    models: tuple[str, ...],
    cost: costs.CostModel,
    featurizer: feats.Featurizer | None,
    calibration: Calibration | None,
) -> KnnRouter:
    assert features.embedding is not None
    embedding, kept = KnnRouter.fit(features.embedding, scores)
    neighbours = KnnRouter.neighbours_for(len(embedding))
    return KnnRouter(models, cost, featurizer, calibration, None, embedding, kept, neighbours)


def _folds(n: int, settings: Settings) -> list[np.ndarray]:
    order = np.random.default_rng(settings.seed).permutation(n)
    return np.array_split(order, max(2, min(settings.folds, n)))


def _out_of_fold(table: Outcomes, features: Features, settings: Settings) -> np.ndarray:
    """Each prompt's predicted quality from a router that never saw it."""
    order = np.random.default_rng(settings.seed).permutation(len(table))
    predicted = np.zeros(table.scores.shape)
    no_cost = costs.CostModel(np.zeros(len(table.models)), np.zeros(len(table.models)))
    for held in _folds(len(table), settings):
        fit_rows = np.setdiff1d(order, held)
        part = table.take(fit_rows)
        router = _fit(settings, part, _subset(features, fit_rows), None, no_cost, None)
        predicted[held] = router.predict_quality(_subset(features, held))
    return predicted


def _calibration(table: Outcomes, predicted: np.ndarray, cost: np.ndarray) -> Calibration:
    rows = np.flatnonzero(~np.isnan(table.scores).any(axis=1) & ~np.isnan(table.costs).any(axis=1))
    if len(rows) == 0:
        raise DataError(
            table.path,
            None,
            "outcomes",
            "no prompt has outcomes for every model; "
            "calibration needs prompts that every model answered",
        )
    best = _best(table.take(rows))
    return calibrate(
        predicted[rows], cost[rows], table.scores[rows], table.costs[rows], best, table.models
    )


def _best(table: Outcomes) -> int:
    """Best single: highest mean quality, ties to the cheaper."""
    quality = np.nanmean(table.scores, axis=0)
    cost = np.nanmean(table.costs, axis=0)
    return int(np.lexsort((cost, -quality))[0])


def _cheapest(table: Outcomes) -> int:
    return int(np.nanargmin(np.nanmean(table.costs, axis=0)))
