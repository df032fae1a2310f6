from __future__ import annotations

from slicewise.cards import ModelCard
from slicewise.routing.coldstart import ColdStartRouter, abilities
from slicewise.routing.target import Target

CARDS = [ModelCard("a/small", 0.1, 0.4), ModelCard("a/mid", 1.0, 4.0), ModelCard("a/big", 5, 15)]
EASY = "What is the capital of France?"
HARD = (
    "Solve the equation x^2 + 3x = 10, then prove that the solution is unique, "
    "and write a Python function that checks it:\n```python\ndef check(x):\n    return x\n```"
) * 4


def test_abilities_follow_tiers_else_price() -> None:
    assert abilities(CARDS).tolist() == [0.0, 0.5, 1.0]
    tiered = [ModelCard("x", tier=3), ModelCard("y", tier=1)]
    assert abilities(tiered).tolist() == [1.0, 0.0]


def test_harder_prompts_go_to_stronger_models() -> None:
    router = ColdStartRouter(CARDS)
    easy = router.route((("user", EASY),), Target("share", 0.9))
    hard = router.route((("user", HARD),), Target("share", 0.9))
    order = [c.name for c in CARDS]
    assert order.index(easy.model) < order.index(hard.model)
    assert hard.model == "a/big"


def test_lower_share_is_cheaper() -> None:
    router = ColdStartRouter(CARDS)
    cheap = router.route((("user", EASY),), Target("share", 0.5))
    assert cheap.model == "a/small"


def test_unpriced_models_are_never_chosen_by_cost() -> None:
    router = ColdStartRouter([*CARDS, ModelCard("a/unknown")])
    route = router.route((("user", HARD),), Target("share", 1.0))
    assert route.model != "a/unknown"
    assert route.candidate("a/unknown").cost is None
