"""Acceptance checks: how likely the answer a stage would return is right.

One logistic regression per set of called models (the models of a stage and of the stages
before it) over the vote's signals and the prompt's shape features. Per set, because what an
agreement is worth depends on who agrees: two hosts of the same weights agree far more often
than two different models, and letters agree by chance far more often than numbers. The
regression learns that the vote on code says nothing, so a cascade escalates there.

Probabilities are fitted out of fold when a cascade is being chosen (``out_of_fold``), so the
acceptance rates and the quality they buy are those of prompts the check never saw. Inference is
a dot product per prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slicewise.routing.answers import AnswerTable
from slicewise.routing.votes import vote

PENALTY = 1.0
"""Inverse L2 strength of the regressions (sklearn's ``C``)."""

MIN_ROWS = 20


@dataclass(frozen=True, eq=False)
class Check:
    """A fitted acceptance check for one set of called models."""

    called: tuple[int, ...]
    coef: np.ndarray
    bias: float

    def probability(
        self, answers: AnswerTable, shape: np.ndarray, weight: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probability that the returned answer is right, and the returned model, per row."""
        result = vote(answers, self.called, weight, rows)
        z = design(result.signals, shape[rows]) @ self.coef + self.bias
        return 1.0 / (1.0 + np.exp(-z)), result.winner


def design(signals: np.ndarray, shape: np.ndarray) -> np.ndarray:
    return np.hstack([signals, shape.astype(np.float64)])


def fit(
    called: tuple[int, ...],
    answers: AnswerTable,
    shape: np.ndarray,
    weight: np.ndarray,
    scores: np.ndarray,
    rows: np.ndarray,
) -> Check:
    """The check for ``called``, fitted on prompts ``rows`` of ``scores`` (prompts, models)."""
    result = vote(answers, called, weight, rows)
    x = design(result.signals, shape[rows])
    y = scores[rows, result.winner] >= 0.5
    if len(rows) < MIN_ROWS or y.all() or not y.any():
        rate = np.clip(y.mean() if len(y) else 0.5, 0.01, 0.99)
        return Check(called, np.zeros(x.shape[1]), float(np.log(rate / (1 - rate))))
    from sklearn.linear_model import LogisticRegression  # training only

    model = LogisticRegression(C=PENALTY, max_iter=500).fit(x, y)
    return Check(called, model.coef_[0].astype(np.float64), float(model.intercept_[0]))


def out_of_fold(
    called: tuple[int, ...],
    answers: AnswerTable,
    shape: np.ndarray,
    weight: np.ndarray,
    scores: np.ndarray,
    folds: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Each prompt's acceptance probability from a check fitted without it, and the winner."""
    n = len(scores)
    probability, winner = np.zeros(n), np.zeros(n, np.int64)
    everything = np.arange(n)
    for held in folds:
        check = fit(called, answers, shape, weight, scores, np.setdiff1d(everything, held))
        probability[held], winner[held] = check.probability(answers, shape, weight, held)
    return probability, winner
