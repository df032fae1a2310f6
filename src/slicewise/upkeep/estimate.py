"""A route's estimated quality from shadow comparisons: a rolling mean and its Wilson interval.

Each comparison scores agreement with the reference model in [0, 1] (1 or 0 for an exact
comparison, a judge's grade otherwise). The estimate is the mean of the latest ``window``
scores; its 95 % interval is Wilson's, which stays inside [0, 1] and is honest at a few
samples. For graded (non-binary) scores the interval treats the mean as a proportion, which
is wider than needed, never narrower.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

Z95 = 1.959964


def wilson(mean: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``mean`` over ``n`` trials."""
    if n == 0:
        return 0.0, 1.0
    centre = mean + z * z / (2 * n)
    spread = z * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


@dataclass
class Estimate:
    window: int = 200
    scores: deque[float] = field(default_factory=deque)
    total: int = 0
    """Every score ever added (the window holds the latest)."""

    def add(self, score: float) -> None:
        self.scores.append(score)
        self.total += 1
        if len(self.scores) > self.window:
            self.scores.popleft()

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    def interval(self) -> tuple[float, float]:
        mean = self.mean
        return wilson(0.0 if mean is None else mean, self.count)
