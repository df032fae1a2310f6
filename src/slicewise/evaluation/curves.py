"""Cost-quality curves and the numbers routers are judged by.

A router swept over its knob gives (mean cost, mean quality) points on held-out prompts. Every
number here is read off the points' hull: the upper concave, non-decreasing envelope. It is the
curve a deployment can actually get:

* sending a random share of prompts to one operating point and the rest to another reaches
  every point on the segment between them, so the curve is concave;
* spending more never forces lower quality (the cheaper, better point stays available), so the
  curve is flat to the right of its best point.

Below its cheapest point a curve does not exist: no mixture of its operating points costs less.
:func:`quality_at` answers NaN there and :func:`aiq` counts quality 0 there.

The strong/weak pair numbers (:func:`apgr`, :func:`cpt`) use the same hull with the share of
calls sent to the strong model in place of cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

REL_TOL = 1e-9
"""Slack when asking whether a curve reaches a quality: equal means summed in another order
differ in their last bits, and a router that matches best single should be seen to."""

ABS_TOL = 1e-12
"""The same slack for qualities near zero."""

NEAR_BEST = 0.95
"""The share of best single's quality at which :func:`summary` reports a second cost."""


@dataclass(frozen=True)
class Point:
    """One operating point: mean cost per prompt (USD) and mean quality per prompt."""

    cost: float
    quality: float


def hull(points: Sequence[Point]) -> list[Point]:
    """The upper concave, non-decreasing hull of ``points``, sorted by cost.

    Of points with equal cost only the best is kept; a point that a cheaper (or equally cheap)
    point matches or beats in quality is dropped, as is a point on or below the segment joining
    its neighbours. Costs and qualities both rise strictly along the result. Empty in, empty
    out. Raises ``ValueError`` for a cost or quality that is NaN or infinite.
    """
    upper: list[Point] = []
    for point in _frontier(points):
        while len(upper) >= 2 and not _above(upper[-2], upper[-1], point):
            upper.pop()
        upper.append(point)
    return upper


def zero_router(singles: Sequence[Point]) -> list[Point]:
    """The zero router: the hull of the single models' points.

    Any point on it is reached by mixing at most two models at random, without looking at the
    prompt; a router that does not rise above it has learned nothing from the prompt.
    """
    return hull(singles)


def quality_at(curve: Sequence[Point], cost: float) -> float:
    """The hull's quality at mean cost ``cost``, interpolated linearly between its points.

    NaN below the cheapest point (and for an empty curve), where the curve does not exist; the
    best quality beyond the most expensive point, where the curve is flat.
    """
    upper = hull(curve)
    if not upper or cost < upper[0].cost:
        return math.nan
    return float(np.interp(cost, _costs(upper), _qualities(upper)))


def cost_at(curve: Sequence[Point], quality: float) -> float | None:
    """The lowest mean cost at which the hull reaches ``quality``, or ``None`` if it never does.

    Interpolated linearly between the hull's points; a quality at or below the cheapest point's
    is reached at that point's cost. A quality within ``REL_TOL`` of the best counts as reached.
    """
    upper = hull(curve)
    if not upper or not _reaches(upper[-1].quality, quality):
        return None
    wanted = min(quality, upper[-1].quality)
    return float(np.interp(wanted, _qualities(upper), _costs(upper)))


def aiq(curve: Sequence[Point], low: float, high: float) -> float:
    """Average quality of the hull over the cost range [``low``, ``high``].

    The area under the hull's quality divided by ``high - low``. Below the curve's cheapest
    point the curve cannot be reached at all, so that stretch counts as quality 0 rather than
    being left out (which would reward a curve for starting late) or filled with the cheapest
    point's quality (which would credit quality that was never paid for). Compare routers over
    one :func:`shared_range`, which starts at the cheapest single model's cost: a router whose
    cheapest point lies above it pays for that in its AIQ. An empty curve scores 0. For
    ``low == high`` the result is the hull's quality at that cost (0 if unreachable), the limit
    of the average over a shrinking range. Raises ``ValueError`` if ``high < low`` or either is
    not finite.
    """
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(f"cost range [{low}, {high}] is not allowed; need finite low <= high")
    upper = hull(curve)
    if not upper:
        return 0.0
    if low == high:
        quality = quality_at(upper, low)
        return 0.0 if math.isnan(quality) else quality

    start = max(low, upper[0].cost)
    if start >= high:
        return 0.0
    return _area(upper, start, high) / (high - low)


def shared_range(singles: Sequence[Point]) -> tuple[float, float]:
    """The cost range AIQ is taken over: from the cheapest to the most expensive single model.

    It depends on the single models only, so adding a router to a comparison never changes
    another router's AIQ. Raises ``ValueError`` for no single models.
    """
    if not singles:
        raise ValueError("no single models; the shared cost range needs at least one")
    _check_finite(singles)
    costs = _costs(singles)
    return min(costs), max(costs)


def apgr(
    points: Sequence[tuple[float, float]], weak_quality: float, strong_quality: float
) -> float:
    """Average performance gap recovered by a router over a weak/strong pair.

    ``points`` are ``(share of calls sent to strong, mean quality)``. The hull is taken over them
    with ``(0, weak_quality)`` and ``(1, strong_quality)`` added, and the performance gap
    recovered, ``(quality - weak_quality) / (strong_quality - weak_quality)``, is averaged over
    shares from 0 to 1. Random mixing scores 0.5, a perfect router close to 1. Raises
    ``ValueError`` for a share outside [0, 1] or unless ``strong_quality > weak_quality``.
    """
    upper = _share_hull(points, weak_quality, strong_quality)
    return (_area(upper, 0.0, 1.0) - weak_quality) / (strong_quality - weak_quality)


def cpt(
    points: Sequence[tuple[float, float]],
    weak_quality: float,
    strong_quality: float,
    recovered: float,
) -> float | None:
    """Call-performance threshold: the smallest share of strong calls that recovers the gap.

    On the same hull as :func:`apgr`, the smallest share at which the performance gap recovered
    reaches ``recovered`` (0.5 for CPT(50 %)). 0 for ``recovered <= 0``; ``None`` if the hull
    never recovers that much (only possible above 1).
    """
    upper = _share_hull(points, weak_quality, strong_quality)
    return cost_at(upper, weak_quality + recovered * (strong_quality - weak_quality))


def summary(
    curve: Sequence[Point], best: Point, low: float, high: float
) -> dict[str, float | None]:
    """The standard numbers for one router's curve against best single ``best``.

    * ``cost_at_best_share``: lowest cost reaching best single's quality, over best's cost;
    * ``cost_at_95_share``: the same at ``NEAR_BEST`` (95 %) of best single's quality;
    * ``quality_gain``: the hull's best quality minus best single's;
    * ``aiq``: :func:`aiq` over [``low``, ``high``];
    * ``max_quality``, ``min_cost``: the hull's best quality and cheapest cost.

    ``None`` means not reached (or, for an empty curve, no value); a cost share is NaN when
    best single costs nothing, since no share of zero is defined.
    """
    upper = hull(curve)
    return {
        "cost_at_best_share": _share(cost_at(upper, best.quality), best.cost),
        "cost_at_95_share": _share(cost_at(upper, NEAR_BEST * best.quality), best.cost),
        "quality_gain": upper[-1].quality - best.quality if upper else None,
        "aiq": aiq(upper, low, high),
        "max_quality": upper[-1].quality if upper else None,
        "min_cost": upper[0].cost if upper else None,
    }


def _frontier(points: Sequence[Point]) -> list[Point]:
    """The points that no cheaper-or-equal point matches in quality, sorted by cost."""
    _check_finite(points)
    frontier: list[Point] = []
    for point in sorted(points, key=lambda p: (p.cost, -p.quality)):
        if not frontier or point.quality > frontier[-1].quality:
            frontier.append(point)
    return frontier


def _above(left: Point, middle: Point, right: Point) -> bool:
    """Whether ``middle`` lies strictly above the segment from ``left`` to ``right``."""
    run, rise = right.cost - left.cost, right.quality - left.quality
    return (middle.cost - left.cost) * rise < (middle.quality - left.quality) * run


def _area(upper: list[Point], start: float, end: float) -> float:
    """The area under the hull between two costs, ``upper[0].cost <= start < end``."""
    inner = [p.cost for p in upper if start < p.cost < end]
    xs = np.array([start, *inner, end])
    ys = np.interp(xs, _costs(upper), _qualities(upper))
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))


def _share_hull(
    points: Sequence[tuple[float, float]], weak_quality: float, strong_quality: float
) -> list[Point]:
    """The hull over (share of strong calls, quality), with both pure routes added."""
    if not strong_quality > weak_quality:
        raise ValueError(
            f"strong quality {strong_quality} does not exceed weak quality {weak_quality}; "
            "the performance gap is undefined, so pick the pair with strong the better model"
        )
    for share, _ in points:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share of strong calls {share} is outside [0, 1]")
    ends = [Point(0.0, weak_quality), Point(1.0, strong_quality)]
    return hull([*ends, *(Point(share, quality) for share, quality in points)])


def _reaches(top: float, quality: float) -> bool:
    return quality <= top or math.isclose(quality, top, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _share(cost: float | None, base: float) -> float | None:
    if cost is None:
        return None
    return cost / base if base > 0 else math.nan


def _check_finite(points: Sequence[Point]) -> None:
    for point in points:
        if not (math.isfinite(point.cost) and math.isfinite(point.quality)):
            raise ValueError(f"{point} is not finite; costs and qualities must be finite numbers")


def _costs(points: Sequence[Point]) -> list[float]:
    return [p.cost for p in points]


def _qualities(points: Sequence[Point]) -> list[float]:
    return [p.quality for p in points]
