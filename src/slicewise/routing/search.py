"""Choosing a cascade's stages from outcomes: a bounded search scored out of fold.

Candidates are two-stage cascades: a first stage of one or two cheap models, then one strong
model. The cheap models are the first Pareto layers of the single models' (cost, quality)
points, at most ``POOL`` of them, so a cheap model that is worse than another at equal cost is
not tried; the strong ones are the best few by training quality. Each candidate's acceptance
check is fitted out of fold, and each candidate is run at every threshold of ``THRESHOLDS``,
giving realised (cost, quality) points on prompts its check never saw. Greedily, the candidate
that most raises the area under the hull of all points kept so far (the single models' to
start with) is kept, up to ``KEEP`` of them. Nothing here knows a task: a source where agreement
says nothing (code) keeps no candidate, and the router then routes prompts directly.

On 900 prompts by 17 models this fits about 80 candidate checks five times over: a few seconds.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slicewise.routing import acceptance
from slicewise.routing.answers import AnswerTable
from slicewise.routing.calibrate import _hull
from slicewise.routing.stages import Cascade, execute, spent
from slicewise.routing.votes import vote

POOL = 6
FINALS = 3
KEEP = 4
CHEAP = 0.5
Structure = tuple[tuple[int, ...], ...]
"""Model indices per stage."""

THRESHOLDS = (0.5, 0.7, 0.8, 0.88, 0.93, 0.96, 0.98, 0.99)


@dataclass(frozen=True, eq=False)
class Evidence:
    """What the search and the training read: answers, prompt shape, and true outcomes."""

    answers: AnswerTable
    shape: np.ndarray
    weight: np.ndarray
    scores: np.ndarray
    costs: np.ndarray


def pool(quality: np.ndarray, cost: np.ndarray, size: int = POOL) -> list[int]:
    """Cheap candidates: models costing at most ``CHEAP`` of best single's cost, by Pareto layer
    of (low cost, high quality), cheapest first within a layer."""
    ceiling = CHEAP * cost[finals(quality, 1)[0]]
    left = [j for j in range(len(quality)) if cost[j] <= ceiling]
    chosen: list[int] = []
    while left and len(chosen) < size:
        layer = [j for j in left if not any(_dominates(k, j, quality, cost) for k in left)]
        layer.sort(key=lambda j: cost[j])
        chosen.extend(layer[: size - len(chosen)])
        left = [j for j in left if j not in layer]
    return chosen


def _dominates(k: int, j: int, quality: np.ndarray, cost: np.ndarray) -> bool:
    no_worse = cost[k] <= cost[j] and quality[k] >= quality[j]
    return bool(no_worse and (cost[k] < cost[j] or quality[k] > quality[j]))


def finals(quality: np.ndarray, count: int = FINALS) -> list[int]:
    return [int(j) for j in np.argsort(-quality, kind="stable")[:count]]


def first_stages(cheap: Sequence[int]) -> list[tuple[int, ...]]:
    singles = [(j,) for j in cheap]
    pairs = [tuple(sorted(p)) for p in itertools.combinations(cheap, 2)]
    return singles + pairs


def choose(evidence: Evidence, folds: Sequence[np.ndarray]) -> list[Structure]:
    """The stage structures worth keeping, best first (possibly none)."""
    quality, cost = evidence.scores.mean(axis=0), evidence.costs.mean(axis=0)
    probes = {
        called: acceptance.out_of_fold(
            called, evidence.answers, evidence.shape, evidence.weight, evidence.scores, folds
        )
        for called in first_stages(pool(quality, cost))
    }
    structures: list[Structure] = [
        (first, (last,)) for first in probes for last in finals(quality) if last not in first
    ]
    points = {s: _points(s, probes, evidence) for s in structures}
    singles = np.column_stack([cost, quality])
    return _greedy(points, singles, float(cost[finals(quality, 1)[0]]))


def _points(
    structure: Structure,
    probes: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]],
    evidence: Evidence,
) -> np.ndarray:
    """Realised (cost, quality) of ``structure`` at each threshold, ``(thresholds, 2)``."""
    first, last = structure
    probability, winner = probes[first]
    everyone = np.arange(len(evidence.scores))
    final = vote(evidence.answers, first + last, evidence.weight, everyone).winner
    rows = everyone
    out = []
    for threshold in THRESHOLDS:
        cascade = Cascade(structure, threshold)

        def probe(called: tuple[int, ...], at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if called == first:
                return probability[at], winner[at]
            return np.zeros(at.size), final[at]

        run = execute(cascade, len(rows), probe)
        out.append(
            (
                spent(cascade, run, evidence.costs).mean(),
                evidence.scores[rows, run.accepted].mean(),
            )
        )
    return np.array(out)


def _greedy(
    points: dict[Structure, np.ndarray], singles: np.ndarray, high: float
) -> list[Structure]:
    kept: list[Structure] = []
    current = singles
    low = float(singles[:, 0].min())
    area = _area(current, low, high)
    for _ in range(KEEP):
        gains = {s: _area(np.vstack([current, p]), low, high) - area for s, p in points.items()}
        best = max(gains, key=lambda s: gains[s], default=None)
        if best is None or gains[best] <= 1e-6 * max(abs(area), 1e-12):
            break
        kept.append(best)
        current = np.vstack([current, points.pop(best)])
        area += gains[best]
    return kept


def _area(points: np.ndarray, low: float, high: float) -> float:
    """Area under the upper hull of ``points`` ((cost, quality) rows) over [low, high]."""
    upper = _hull(points[:, 0], points[:, 1])
    cost, quality = points[upper, 0], points[upper, 1]
    grid = np.linspace(low, high, 200)
    curve = np.where(grid < cost[0], 0.0, np.interp(grid, cost, quality))
    return float(curve.mean())
