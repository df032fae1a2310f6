from __future__ import annotations

import numpy as np
import pytest

from slicewise.errors import ConfigError, RoutingError
from slicewise.routing import decide
from slicewise.routing.calibrate import Calibration
from slicewise.routing.target import Target, parse_target

QUALITY = np.array([[0.5, 0.8, 0.9]])
COST = np.array([[1.0, 2.0, 10.0]])


def test_wtp_ends() -> None:
    assert decide.by_wtp(QUALITY, COST, 0.0, 10.0)[0] == 2
    assert decide.by_wtp(QUALITY, COST, decide.CHEAPEST, 10.0)[0] == 0


def test_wtp_middle_trades_quality_for_cost() -> None:
    # 0.3 quality for 1 unit of reference cost: medium (0.8 - 0.06) beats large (0.9 - 0.3)
    assert decide.by_wtp(QUALITY, COST, 0.3, 10.0)[0] == 1


def test_ties_go_to_the_cheaper_model() -> None:
    assert decide.by_wtp(np.array([[0.9, 0.9]]), np.array([[5.0, 1.0]]), 0.0, 1.0)[0] == 1


def test_threshold_picks_cheapest_that_meets_it_else_best() -> None:
    assert decide.by_threshold(QUALITY, COST, 0.75)[0] == 1
    assert decide.by_threshold(QUALITY, COST, 0.99)[0] == 2


def test_ceiling() -> None:
    assert decide.by_ceiling(QUALITY, COST, 5.0)[0] == 1
    with pytest.raises(RoutingError, match="cheapest predicted cost is \\$1"):
        decide.by_ceiling(QUALITY, COST, 0.5)


def test_ineligible_and_unpriced_models_are_never_chosen() -> None:
    eligible = np.array([[True, True, False]])
    assert decide.by_wtp(QUALITY, COST, 0.0, 1.0, eligible)[0] == 1
    unpriced = np.array([[1.0, 2.0, np.nan]])
    assert decide.by_wtp(QUALITY, unpriced, 0.0, 1.0)[0] == 1
    with pytest.raises(RoutingError, match="no candidate"):
        decide.by_wtp(QUALITY, COST, 0.0, 1.0, np.zeros((1, 3), bool))


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("0.95", Target("share", 0.95)),
        ("quality=0.8", Target("quality", 0.8)),
        ("max_cost=0.002", Target("max_cost", 0.002)),
        ("wtp=3", Target("wtp", 3.0)),
    ],
)
def test_parse_target(text: str, target: Target) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("speed=1", "unknown kind 'speed'"),
        ("abc", "'abc' is not a number"),
        ("quality=2", "quality is a score in \\[0, 1\\]"),
        ("0", "share of best single"),
    ],
)
def test_bad_targets_say_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_target(text)


def test_mixture_sends_the_share_to_the_rich_point_and_is_stable() -> None:
    rng = np.random.default_rng(0)
    quality = np.tile([0.5, 0.9], (4000, 1)) + rng.normal(0, 1e-3, (4000, 2))
    cost = np.tile([1.0, 10.0], (4000, 1))
    choice = decide.by_mixture(quality, cost, 0.0, decide.CHEAPEST, 0.3, 10.0)
    assert abs((choice == 1).mean() - 0.3) < 0.03
    again = decide.by_mixture(quality[::-1], cost, 0.0, decide.CHEAPEST, 0.3, 10.0)
    assert (again[::-1] == choice).all()  # a prompt's draw depends on it alone


def test_calibration_mixes_across_a_jump_in_realised_quality() -> None:
    # every prompt switches model between wtp 1 and 2: quality jumps from 0.9 to 0.6
    table = Calibration(
        wtp=np.array([0.0, 1.0, 2.0, np.inf]),
        quality=np.array([0.9, 0.9, 0.6, 0.6]),
        cost=np.array([10.0, 10.0, 1.0, 1.0]),
        best_model="large",
        best_quality=0.9,
        best_cost=10.0,
    )
    mix = table.mixture_for_quality(0.8)
    assert mix.rich_wtp <= 1.0
    assert mix.cheap_wtp == 2.0
    assert mix.share == pytest.approx(2 / 3)
    assert table.mixture_for_quality(0.95).share == 1.0  # unreachable: the best point alone
    assert table.mixture_for_quality(0.5).rich_wtp == 2.0  # the cheapest point reaches it
