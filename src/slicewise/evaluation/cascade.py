"""Offline evaluation of cascades: realised quality and cost from recorded replies.

A cascade router decides on held-out prompts with their recorded replies standing in for live
calls: its quality is the score of the answer it returns, its cost the sum of every call made.
The baseline it must beat is the best *fixed* two-model agreement cascade: two models called
together, their answer returned when their normalised final answers agree, else a third
model's. It is chosen on the training prompts (the cheapest whose quality reaches best
single's there, else the best) and then read off the held-out prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slicewise.features import prompt_text
from slicewise.outcomes import Outcomes
from slicewise.routing.answers import answer_table
from slicewise.routing.calibrate import GRID
from slicewise.routing.cascade import Batch, CascadeRouter
from slicewise.routing.target import Target


@dataclass(frozen=True)
class FixedCascade:
    """Models ``first`` and ``second`` in parallel; ``last`` when their answers differ."""

    first: str
    second: str
    last: str

    def __str__(self) -> str:
        return f"{self.first}+{self.second} > {self.last}"


def tally(router: CascadeRouter, held: Outcomes, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Summed (quality, cost) at each ``GRID`` wtp, and (goal, quality, cost) at ``target``."""
    held = held.select_models(router.models)
    batch = router.prepare([prompt_text(m) for m in held.messages], held.responses)
    grid = np.zeros((len(GRID), 2))
    for g, wtp in enumerate(GRID):
        grid[g] = _realised(router, batch, held, Target("wtp", float(wtp)))
    quality, cost = _realised(router, batch, held, Target("share", target))
    plan = router.plan or router.calibration
    assert plan is not None
    return grid, np.array([target * plan.best_quality * len(held), quality, cost])


def _realised(router: CascadeRouter, batch: Batch, held: Outcomes, target: Target) -> np.ndarray:
    decisions = router.decide(batch, target)
    rows = np.arange(len(held))
    called = decisions.called(len(router.models))
    return np.array([held.scores[rows, decisions.accepted].sum(), (held.costs * called).sum()])


def best_fixed(fit: Outcomes) -> tuple[FixedCascade, tuple[int, int, int]] | None:
    """The fixed agreement cascade chosen on ``fit``; ``None`` without comparable answers."""
    agree, keys = _agreement(fit)
    if (keys >= 0).mean() < 0.5:
        return None
    quality, cost = _fixed_points(fit.scores, fit.costs, agree)
    best = float(np.lexsort((fit.costs.mean(axis=0), -fit.scores.mean(axis=0)))[0])
    goal = fit.scores[:, int(best)].mean()
    reaches = quality >= goal - 1e-12
    pick = np.where(reaches, cost, np.inf) if reaches.any() else -quality
    a, b, c = (int(i) for i in np.unravel_index(int(np.argmin(pick)), quality.shape))
    return FixedCascade(fit.models[a], fit.models[b], fit.models[c]), (a, b, c)


def fixed_sums(held: Outcomes, chosen: tuple[int, int, int]) -> tuple[float, float]:
    """Summed quality and cost of a fixed cascade on ``held``."""
    a, b, c = chosen
    agree, _ = _agreement(held)
    accept = agree[:, a, b]
    stronger = a if held.scores[:, a].mean() >= held.scores[:, b].mean() else b
    quality = np.where(accept, held.scores[:, stronger], held.scores[:, c])
    cost = held.costs[:, a] + held.costs[:, b] + np.where(accept, 0.0, held.costs[:, c])
    return float(quality.sum()), float(cost.sum())


def _agreement(table: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    texts = [prompt_text(m) for m in table.messages]
    keys = answer_table(texts, table.responses, table.models).keys
    agree = (keys[:, :, None] == keys[:, None, :]) & (keys[:, :, None] >= 0)
    return agree, keys


def _fixed_points(
    scores: np.ndarray, costs: np.ndarray, agree: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean quality and cost of every (first, second, last) triple, each ``(m, m, m)``;
    triples that repeat a model are given no quality."""
    m = scores.shape[1]
    stronger = np.where(
        scores.mean(axis=0)[:, None] >= scores.mean(axis=0)[None, :],
        scores[:, :, None],
        scores[:, None, :],
    )
    accept = agree.astype(np.float64)
    quality = np.einsum("nab,nab->ab", accept, stronger)[:, :, None] + np.einsum(
        "nab,nc->abc", 1.0 - accept, scores
    )
    cost = (costs[:, :, None] + costs[:, None, :]).sum(axis=0)[:, :, None] + np.einsum(
        "nab,nc->abc", 1.0 - accept, costs
    )
    idx = np.arange(m)
    repeats = (
        (idx[:, None, None] >= idx[None, :, None])
        | (idx[:, None, None] == idx[None, None, :])
        | (idx[None, :, None] == idx[None, None, :])
    )
    n = len(scores)
    return np.where(repeats, -np.inf, quality / n), np.where(repeats, np.inf, cost / n)
