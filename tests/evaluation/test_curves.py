"""Cost-quality curves: the hull, reading it, and the numbers routers are judged by."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from slicewise.evaluation.curves import (
    Point,
    aiq,
    apgr,
    cost_at,
    cpt,
    hull,
    quality_at,
    shared_range,
    summary,
    zero_router,
)

A, B, C = Point(1.0, 0.5), Point(2.0, 0.8), Point(4.0, 0.9)
"""A concave, rising curve: slopes 0.3 then 0.05."""


# --- hull -----------------------------------------------------------------------------------


def test_hull_of_nothing_is_empty() -> None:
    assert hull([]) == []


def test_hull_of_one_point_is_that_point() -> None:
    assert hull([A]) == [A]


def test_hull_sorts_by_cost() -> None:
    assert hull([C, A, B]) == [A, B, C]


def test_hull_keeps_the_best_of_equal_costs() -> None:
    assert hull([Point(1.0, 0.2), A, Point(1.0, 0.4)]) == [A]


def test_hull_drops_a_point_a_cheaper_one_beats() -> None:
    assert hull([A, Point(3.0, 0.4), B]) == [A, B]


def test_hull_is_flat_after_its_best_point() -> None:
    assert hull([A, B, Point(5.0, 0.8), Point(6.0, 0.7)]) == [A, B]


def test_hull_drops_a_point_below_the_chord() -> None:
    assert hull([A, Point(2.0, 0.6), C]) == [A, C]


def test_hull_drops_a_point_on_the_chord() -> None:
    assert hull([Point(0.0, 0.0), Point(1.0, 1.0), Point(2.0, 2.0)]) == [
        Point(0.0, 0.0),
        Point(2.0, 2.0),
    ]


def test_hull_of_equal_qualities_is_the_cheapest_point() -> None:
    assert hull([Point(3.0, 0.7), Point(1.0, 0.7), Point(2.0, 0.7)]) == [Point(1.0, 0.7)]


def test_hull_of_identical_points_is_one_point() -> None:
    assert hull([A, A, A]) == [A]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_hull_rejects_non_finite_points(bad: float) -> None:
    with pytest.raises(ValueError, match="not finite"):
        hull([A, Point(bad, 0.5)])
    with pytest.raises(ValueError, match="not finite"):
        hull([A, Point(1.0, bad)])


def test_hull_of_random_points_is_concave_rising_and_covers_them() -> None:
    rng = np.random.default_rng(7)
    points = [Point(float(c), float(q)) for c, q in rng.random((200, 2))]
    upper = hull(points)

    costs = [p.cost for p in upper]
    qualities = [p.quality for p in upper]
    assert costs == sorted(costs)
    assert len(set(costs)) == len(costs)
    assert all(q1 < q2 for q1, q2 in itertools.pairwise(qualities))
    slopes = np.diff(qualities) / np.diff(costs)
    assert all(s1 > s2 for s1, s2 in itertools.pairwise(slopes))
    assert all(p.quality <= quality_at(upper, p.cost) + 1e-12 for p in points)
    assert set(upper) <= set(points)
    assert hull(upper) == upper


def test_zero_router_is_the_hull_of_the_single_models() -> None:
    singles = [C, Point(3.0, 0.6), A, B]
    assert zero_router(singles) == hull(singles) == [A, B, C]


# --- quality_at and cost_at ------------------------------------------------------------------


def test_quality_at_interpolates_on_the_hull() -> None:
    assert quality_at([A, B, C], 1.0) == 0.5
    assert quality_at([A, B, C], 1.5) == pytest.approx(0.65)
    assert quality_at([A, B, C], 3.0) == pytest.approx(0.85)


def test_quality_at_uses_the_hull_not_the_raw_points() -> None:
    assert quality_at([A, Point(2.0, 0.6), C], 2.0) == pytest.approx(0.5 + 0.4 / 3)


def test_quality_at_is_nan_below_the_cheapest_point() -> None:
    assert math.isnan(quality_at([A, B], 0.5))


def test_quality_at_is_the_best_quality_beyond_the_last_point() -> None:
    assert quality_at([A, B, C], 100.0) == 0.9


def test_quality_at_of_nothing_is_nan() -> None:
    assert math.isnan(quality_at([], 1.0))


def test_cost_at_interpolates_on_the_hull() -> None:
    assert cost_at([A, B, C], 0.8) == 2.0
    assert cost_at([A, B, C], 0.65) == pytest.approx(1.5)
    assert cost_at([A, B, C], 0.85) == pytest.approx(3.0)


def test_cost_at_a_low_quality_is_the_cheapest_cost() -> None:
    assert cost_at([A, B, C], 0.1) == 1.0


def test_cost_at_a_quality_never_reached_is_none() -> None:
    assert cost_at([A, B, C], 0.95) is None
    assert cost_at([], 0.5) is None


def test_cost_at_forgives_rounding_at_the_top() -> None:
    assert cost_at([A, B, C], 0.9 + 1e-15) == 4.0


def test_cost_at_on_a_flat_curve_is_its_cheapest_cost() -> None:
    assert cost_at([Point(2.0, 0.7), Point(1.0, 0.7)], 0.7) == 1.0


# --- aiq and shared_range --------------------------------------------------------------------


def test_aiq_of_a_flat_curve_is_its_quality() -> None:
    assert aiq([Point(1.0, 0.7)], 1.0, 3.0) == pytest.approx(0.7)


def test_aiq_averages_the_hull_over_the_range() -> None:
    # Trapezoids over [1, 2] and [2, 4]: 0.65 * 1 + 0.85 * 2 = 2.35 over a width of 3.
    assert aiq([A, B, C], 1.0, 4.0) == pytest.approx(2.35 / 3)


def test_aiq_extends_the_best_quality_to_the_right() -> None:
    assert aiq([A, B, C], 4.0, 6.0) == pytest.approx(0.9)
    assert aiq([A, B, C], 1.0, 5.0) == pytest.approx((2.35 + 0.9) / 4)


def test_aiq_counts_zero_below_the_cheapest_point() -> None:
    # Unreachable on [0, 1], then 2.35 on [1, 4].
    assert aiq([A, B, C], 0.0, 4.0) == pytest.approx(2.35 / 4)


def test_aiq_of_a_curve_starting_after_the_range_is_zero() -> None:
    assert aiq([C], 1.0, 3.0) == 0.0
    assert aiq([C], 1.0, 4.0) == 0.0


def test_aiq_of_nothing_is_zero() -> None:
    assert aiq([], 1.0, 2.0) == 0.0


def test_aiq_of_an_empty_range_is_the_quality_at_that_cost() -> None:
    assert aiq([A, B, C], 3.0, 3.0) == pytest.approx(0.85)
    assert aiq([A, B, C], 0.5, 0.5) == 0.0


@pytest.mark.parametrize(("low", "high"), [(2.0, 1.0), (math.nan, 1.0), (0.0, math.inf)])
def test_aiq_rejects_a_bad_range(low: float, high: float) -> None:
    with pytest.raises(ValueError, match="cost range"):
        aiq([A], low, high)


def test_aiq_ranks_a_late_start_below_an_early_one() -> None:
    early = [Point(1.0, 0.5), Point(4.0, 0.9)]
    late = [Point(2.0, 0.7), Point(4.0, 0.9)]
    low, high = shared_range([Point(1.0, 0.5), Point(4.0, 0.9)])
    # Late is better where it exists, but cannot be had on [1, 2].
    assert aiq(late, 2.0, high) > aiq(early, 2.0, high)
    assert aiq(late, low, high) < aiq(early, low, high)


def test_shared_range_spans_the_single_models_costs() -> None:
    assert shared_range([B, C, A]) == (1.0, 4.0)
    assert shared_range([B]) == (2.0, 2.0)


def test_shared_range_needs_a_single_model() -> None:
    with pytest.raises(ValueError, match="no single models"):
        shared_range([])


# --- apgr and cpt ----------------------------------------------------------------------------


def test_apgr_of_random_mixing_is_a_half() -> None:
    assert apgr([], 0.4, 0.8) == pytest.approx(0.5)
    assert apgr([(0.5, 0.6), (0.2, 0.45)], 0.4, 0.8) == pytest.approx(0.5)


def test_apgr_of_a_router_above_the_chord() -> None:
    # PGR rises 0 -> 1 over [0, 0.2], then stays 1: 0.1 + 0.8.
    assert apgr([(0.2, 0.8)], 0.4, 0.8) == pytest.approx(0.9)


def test_apgr_counts_quality_beyond_strong() -> None:
    # PGR rises 0 -> 2 over [0, 0.5], then stays 2: 0.5 + 1.0.
    assert apgr([(0.5, 1.0)], 0.6, 0.8) == pytest.approx(1.5)


@pytest.mark.parametrize("share", [-0.1, 1.1, math.nan])
def test_apgr_rejects_a_share_outside_zero_to_one(share: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        apgr([(share, 0.5)], 0.4, 0.8)


@pytest.mark.parametrize(("weak", "strong"), [(0.8, 0.4), (0.6, 0.6), (math.nan, 0.6)])
def test_apgr_and_cpt_need_strong_above_weak(weak: float, strong: float) -> None:
    with pytest.raises(ValueError, match="does not exceed"):
        apgr([], weak, strong)
    with pytest.raises(ValueError, match="does not exceed"):
        cpt([], weak, strong, 0.5)


def test_cpt_of_random_mixing_is_the_share_recovered() -> None:
    assert cpt([], 0.4, 0.8, 0.5) == pytest.approx(0.5)
    assert cpt([], 0.4, 0.8, 0.8) == pytest.approx(0.8)


def test_cpt_reads_the_hull() -> None:
    points = [(0.2, 0.7), (0.6, 0.78)]
    # Gap 0.4; PGR 0.5 at q 0.6, on the segment from (0, 0.4) to (0.2, 0.7).
    assert cpt(points, 0.4, 0.8, 0.5) == pytest.approx(0.2 * 0.2 / 0.3)
    # PGR 0.8 at q 0.72, between (0.2, 0.7) and (0.6, 0.78).
    assert cpt(points, 0.4, 0.8, 0.8) == pytest.approx(0.3)


def test_cpt_edges() -> None:
    assert cpt([(0.3, 0.8)], 0.4, 0.8, 0.0) == 0.0
    assert cpt([(0.3, 0.8)], 0.4, 0.8, 1.0) == pytest.approx(0.3)
    assert cpt([(0.3, 0.8)], 0.4, 0.8, 1.2) is None


# --- summary ---------------------------------------------------------------------------------


def test_summary_reports_the_standard_numbers() -> None:
    best = Point(4.0, 0.85)
    numbers = summary([A, B, C], best, 1.0, 4.0)
    assert numbers == {
        "cost_at_best_share": pytest.approx(3.0 / 4.0),
        "cost_at_95_share": pytest.approx(2.15 / 4.0),  # q 0.8075: 0.075 of the way from B to C
        "quality_gain": pytest.approx(0.05),
        "aiq": pytest.approx(2.35 / 3),
        "max_quality": 0.9,
        "min_cost": 1.0,
    }


def test_summary_of_a_curve_below_best_single() -> None:
    numbers = summary([A], Point(4.0, 0.9), 1.0, 4.0)
    assert numbers["cost_at_best_share"] is None
    assert numbers["cost_at_95_share"] is None
    assert numbers["quality_gain"] == pytest.approx(-0.4)


def test_summary_of_nothing() -> None:
    numbers = summary([], B, 1.0, 4.0)
    assert numbers["aiq"] == 0.0
    assert all(numbers[key] is None for key in numbers if key != "aiq")


def test_summary_share_of_a_free_best_single_is_nan() -> None:
    numbers = summary([Point(0.0, 0.8)], Point(0.0, 0.8), 0.0, 0.0)
    share = numbers["cost_at_best_share"]
    assert share is not None
    assert math.isnan(share)
    assert numbers["aiq"] == 0.8
