"""Calibration: turn a quality target into the willingness to pay that realises it.

Predicted qualities are not exact, so the ``wtp`` that meets a target cannot be read from the
predictions. Training routes held-out (out-of-fold) prompts at a grid of ``wtp`` values and
records the *realised* mean quality and cost at each, scored with the true outcomes.

A share target is met by a ``Mixture`` of two of those operating points: the cheapest pair on
the table's upper cost-quality hull that brackets the target, with the share of prompts routed
at the quality-leaning one. Interpolating ``wtp`` alone cannot do this where realised quality
jumps between neighbouring grid points, which happens whenever a router's predictions barely
differ between prompts (a cluster router on a one-task source): every prompt then switches
model at the same ``wtp``, and the realised quality lands on either side of the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from slicewise.routing import decide

GRID = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 61), [decide.CHEAPEST]])


@dataclass(frozen=True)
class Mixture:
    """Route a ``share`` of prompts at ``rich_wtp`` and the rest at ``cheap_wtp``."""

    rich_wtp: float
    cheap_wtp: float
    share: float


@dataclass(frozen=True, eq=False)
class Calibration:
    """Realised quality and cost of the decision rule at each ``wtp`` on held-out prompts."""

    wtp: np.ndarray
    quality: np.ndarray
    cost: np.ndarray
    best_model: str
    best_quality: float
    best_cost: float

    @cached_property
    def _upper(self) -> np.ndarray:
        """Indices of the table's cost-quality hull (computed once: it is on the hot path)."""
        return _hull(self.cost, self.quality)

    def mixture_for_quality(self, quality: float) -> Mixture:
        """The cheapest mix of two table points whose realised quality reaches ``quality``;
        the best point alone when none does."""
        upper = self._upper
        qualities = self.quality[upper]
        above = np.flatnonzero(qualities >= quality - 1e-12)
        if above.size == 0 or above[0] == 0:
            j = upper[-1] if above.size == 0 else upper[0]
            return Mixture(float(self.wtp[j]), float(self.wtp[j]), 1.0)
        rich, cheap = upper[above[0]], upper[above[0] - 1]
        share = (quality - self.quality[cheap]) / (self.quality[rich] - self.quality[cheap])
        return Mixture(float(self.wtp[rich]), float(self.wtp[cheap]), float(share))

    def mixture_for_share(self, share: float) -> Mixture:
        return self.mixture_for_quality(share * self.best_quality)

    def wtp_for_quality(self, quality: float) -> float:
        """Largest ``wtp`` (cheapest routing) whose realised quality still reaches ``quality``."""
        realised = np.minimum.accumulate(self.quality)  # non-increasing in wtp
        reaches = np.flatnonzero(realised >= quality - 1e-12)
        if reaches.size == 0:
            return 0.0
        i = int(reaches.max())
        if i + 1 >= len(self.wtp) or realised[i] == realised[i + 1]:
            return float(self.wtp[i])
        # interpolate in log(wtp) between the last grid point that reaches and the next
        lo, hi = self.wtp[i], self.wtp[i + 1]
        if not np.isfinite(hi) or lo <= 0:
            return float(lo)
        frac = (realised[i] - quality) / (realised[i] - realised[i + 1])
        return float(np.exp(np.log(lo) + frac * (np.log(hi) - np.log(lo))))

    def wtp_for_share(self, share: float) -> float:
        return self.wtp_for_quality(share * self.best_quality)

    def sweep(self, points: int) -> list[float]:
        """``points`` wtp values from the cheapest-leaning to the quality-leaning end,
        spaced evenly in realised quality."""
        if points < 1:
            return []
        if points == 1:
            return [self.wtp_for_share(1.0)]
        levels = np.linspace(self.quality.min(), self.quality.max(), points)
        return [
            decide.CHEAPEST if i == 0 else self.wtp_for_quality(float(q))
            for i, q in enumerate(levels)
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "wtp": [_finite(w) for w in self.wtp],
            "quality": self.quality.tolist(),
            "cost": self.cost.tolist(),
            "best_model": self.best_model,
            "best_quality": self.best_quality,
            "best_cost": self.best_cost,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Calibration:
        return cls(
            wtp=np.array([np.inf if w is None else w for w in raw["wtp"]], dtype=float),  # type: ignore[attr-defined]
            quality=np.array(raw["quality"], dtype=float),
            cost=np.array(raw["cost"], dtype=float),
            best_model=str(raw["best_model"]),
            best_quality=float(raw["best_quality"]),  # type: ignore[arg-type]
            best_cost=float(raw["best_cost"]),  # type: ignore[arg-type]
        )


def _finite(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _hull(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Indices of the upper concave, non-decreasing cost-quality hull, cheapest first."""
    order = np.lexsort((-quality, cost))
    upper: list[int] = []
    for i in (int(i) for i in order):
        if upper and quality[i] <= quality[upper[-1]]:
            continue  # no better than a point that costs no more
        while len(upper) >= 2 and _under(upper[-2], upper[-1], i, cost, quality):
            upper.pop()
        upper.append(i)
    return np.array(upper, dtype=np.int64)


def _under(a: int, b: int, c: int, cost: np.ndarray, quality: np.ndarray) -> bool:
    """Whether point b lies on or below the segment from a to c."""
    return bool(
        (quality[b] - quality[a]) * (cost[c] - cost[a])
        <= (quality[c] - quality[a]) * (cost[b] - cost[a])
    )


def calibrate(
    predicted: np.ndarray,
    cost: np.ndarray,
    scores: np.ndarray,
    true_cost: np.ndarray,
    best: int,
    models: tuple[str, ...],
) -> Calibration:
    """Build the table from out-of-fold predictions and the true outcomes (all ``(n, m)``)."""
    reference = float(true_cost[:, best].mean())
    rows = np.arange(len(scores))
    quality, spent = [], []
    for wtp in GRID:
        choice = decide.by_wtp(predicted, cost, float(wtp), reference)
        quality.append(scores[rows, choice].mean())
        spent.append(true_cost[rows, choice].mean())
    return Calibration(
        wtp=GRID.copy(),
        quality=np.array(quality),
        cost=np.array(spent),
        best_model=models[best],
        best_quality=float(scores[:, best].mean()),
        best_cost=reference,
    )
