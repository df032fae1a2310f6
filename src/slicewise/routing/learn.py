"""Training a cascade router: choose stages, fit checks, learn when to cascade, calibrate.

1. Normalise every recorded reply (``answers``); with too few comparable answers (a source
   without replies) no cascade is searched and the router is the ensemble over single models.
2. Choose stage structures out of fold (``search``); each kept structure becomes one option per
   threshold in ``search.THRESHOLDS``.
3. Run every option on each prompt with checks fitted without that prompt: its realised quality,
   cost, and whether it escalated. These, with the single models' scores, are the columns the
   prompt-only ensemble learns (``scorer``).
4. Route each prompt with a scorer that never saw it, at a grid of willingness to pay, to build
   two calibration tables: over single models (the ``Router`` contract) and over all options
   (cascade decisions).
5. Fit the checks and the scorer on every prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from slicewise import features as feats
from slicewise.errors import DataError
from slicewise.outcomes import Outcomes
from slicewise.routing import acceptance, search
from slicewise.routing.answers import answer_table
from slicewise.routing.calibrate import Calibration, calibrate
from slicewise.routing.cascade import CascadeRouter
from slicewise.routing.cost import CostModel
from slicewise.routing.ensemble import EnsembleRouter
from slicewise.routing.knn import KnnRouter
from slicewise.routing.predictor import PredictorRouter
from slicewise.routing.router import Features
from slicewise.routing.stages import Cascade, Probe, execute, reach, spent
from slicewise.routing.votes import vote, weights

MIN_COVERAGE = 0.5
"""Least share of (prompt, model) cells with a comparable answer for cascades to be searched."""

Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class Columns:
    """Per prompt and option: realised quality and cost; per cascade stage: escalated or not."""

    quality: np.ndarray
    cost: np.ndarray
    reach: np.ndarray


def train_cascade(
    table: Outcomes,
    features: Features,
    featurizer: feats.Featurizer | None,
    cost: CostModel,
    folds: Sequence[np.ndarray],
    say: Progress,
) -> CascadeRouter:
    """A calibrated cascade router on ``table`` (every prompt answered by every model)."""
    _check_complete(table)
    texts = [feats.prompt_text(m) for m in table.messages]
    answers = answer_table(texts, table.responses, table.models)
    weight = weights(table.scores.mean(axis=0))
    evidence = search.Evidence(answers, features.shape, weight, table.scores, table.costs)
    structures: list[search.Structure] = []
    if answers.coverage >= MIN_COVERAGE:
        say(f"searching cascades over {len(table.models)} models")
        structures = search.choose(evidence, folds)
    cascades = [Cascade(s, t) for s in structures for t in search.THRESHOLDS]

    say(f"scoring {len(cascades)} cascade options out of fold")
    columns = _out_of_fold_columns(cascades, evidence, folds)
    targets = np.hstack([table.scores, columns.quality, columns.reach])
    names = _names(table.models, cascades)
    predicted = _scorer_out_of_fold(features, targets, names, folds)

    singles = cost.predict(features.tokens)
    router = CascadeRouter(
        table.models, cost, featurizer, None, None, None, cascades, (), weight, None
    )
    _, option_cost = router.option_predictions_from(predicted, singles)
    m = len(table.models)
    best = _best(table.scores, table.costs)
    router.calibration = calibrate(
        predicted[:, :m], singles, table.scores, table.costs, best, table.models
    )
    router.plan = _plan(predicted, option_cost, table, columns, best, names)

    say("fitting checks and scorer on all prompts")
    router.checks = {c.called: c for c in _checks(cascades, evidence, np.arange(len(table)))}
    router.scorer = _scorer(features, targets, names)
    return router


def _check_complete(table: Outcomes) -> None:
    if np.isnan(table.scores).any() or np.isnan(table.costs).any():
        raise DataError(
            table.path,
            None,
            "outcomes",
            "a cascade router trains on prompts every model answered; "
            "some prompts lack a model's score or cost",
        )


def _names(models: Sequence[str], cascades: Sequence[Cascade]) -> list[str]:
    option = [c.name(models) for c in cascades]
    stages = [f"{c.name(models)}#reach{s}" for c in cascades for s in range(2, len(c.stages) + 1)]
    return [*models, *option, *stages]


def _best(scores: np.ndarray, costs: np.ndarray) -> int:
    return int(np.lexsort((costs.mean(axis=0), -scores.mean(axis=0)))[0])


def _checks(
    cascades: Sequence[Cascade], evidence: search.Evidence, rows: np.ndarray
) -> list[acceptance.Check]:
    sets = dict.fromkeys(c.called(s) for c in cascades for s in range(len(c.stages) - 1))
    return [
        acceptance.fit(
            called, evidence.answers, evidence.shape, evidence.weight, evidence.scores, rows
        )
        for called in sets
    ]


def _out_of_fold_columns(
    cascades: Sequence[Cascade], evidence: search.Evidence, folds: Sequence[np.ndarray]
) -> Columns:
    n = len(evidence.scores)
    quality = np.zeros((n, len(cascades)))
    cost = np.zeros((n, len(cascades)))
    stages = sum(len(c.stages) - 1 for c in cascades)
    reached = np.zeros((n, stages))
    everyone = np.arange(n)
    for held in folds:
        fit = np.setdiff1d(everyone, held)
        checks = {c.called: c for c in _checks(cascades, evidence, fit)}
        column = 0
        for k, cascade in enumerate(cascades):
            run = execute(cascade, len(held), _probe(checks, evidence, held))
            quality[held, k] = evidence.scores[held, run.accepted]
            cost[held, k] = spent(cascade, run, evidence.costs[held])
            width = len(cascade.stages) - 1
            reached[held, column : column + width] = reach(cascade, run)
            column += width
    return Columns(quality, cost, reached)


def _probe(
    checks: dict[tuple[int, ...], acceptance.Check], evidence: search.Evidence, held: np.ndarray
) -> Probe:
    def probe(called: tuple[int, ...], at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = held[at]
        check = checks.get(called)
        if check is None:
            return np.zeros(at.size), vote(evidence.answers, called, evidence.weight, rows).winner
        return check.probability(evidence.answers, evidence.shape, evidence.weight, rows)

    return probe


def _scorer(features: Features, targets: np.ndarray, names: Sequence[str]) -> EnsembleRouter:
    no_cost = CostModel(np.zeros(len(names)), np.zeros(len(names)))
    weights_, bias = PredictorRouter.fit(features, targets)
    predictor = PredictorRouter(names, no_cost, None, None, None, weights_, bias)
    assert features.embedding is not None
    embedding, kept = KnnRouter.fit(features.embedding, targets)
    knn = KnnRouter(
        names, no_cost, None, None, None, embedding, kept, KnnRouter.neighbours_for(len(kept))
    )
    return EnsembleRouter(names, no_cost, None, None, None, predictor, knn)


def _scorer_out_of_fold(
    features: Features, targets: np.ndarray, names: Sequence[str], folds: Sequence[np.ndarray]
) -> np.ndarray:
    predicted = np.zeros(targets.shape)
    everyone = np.arange(len(targets))
    for held in folds:
        fit = np.setdiff1d(everyone, held)
        scorer = _scorer(_subset(features, fit), targets[fit], names)
        predicted[held] = scorer.predict_quality(_subset(features, held))
    return predicted


def _subset(features: Features, rows: np.ndarray) -> Features:
    emb = None if features.embedding is None else features.embedding[rows]
    return Features(features.tokens[rows], features.shape[rows], emb)


def _plan(
    predicted: np.ndarray,
    option_cost: np.ndarray,
    table: Outcomes,
    columns: Columns,
    best: int,
    names: Sequence[str],
) -> Calibration:
    width = option_cost.shape[1]
    scores = np.hstack([table.scores, columns.quality])
    costs = np.hstack([table.costs, columns.cost])
    return calibrate(predicted[:, :width], option_cost, scores, costs, best, tuple(names[:width]))
