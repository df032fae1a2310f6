from __future__ import annotations

import numpy as np

from slicewise.cards import ModelCard
from slicewise.routing import cost


def test_priced_card_uses_prices_and_typical_output() -> None:
    tokens = np.array([100.0, 300.0])
    costs = np.full((2, 1), np.nan)
    outputs = np.array([[50.0], [150.0]])
    model = cost.fit(tokens, costs, outputs, [ModelCard("m", 1.0, 2.0)])
    # 100 output tokens on average at $2/M, plus the input at $1/M
    assert np.allclose(model.predict(np.array([1000.0])), [[(1000 * 1 + 100 * 2) / 1e6]])


def test_unpriced_model_is_fitted_to_recorded_costs() -> None:
    tokens = np.array([100.0, 200.0, 300.0])
    costs = (5e-5 + tokens * 1e-7)[:, None]
    model = cost.fit(tokens, costs, np.full((3, 1), np.nan), [None])
    assert np.allclose(model.predict(np.array([400.0])), [[5e-5 + 4e-5]])


def test_unknown_price_is_nan_never_zero() -> None:
    model = cost.from_cards([ModelCard("m")])
    assert np.isnan(model.predict(np.array([10.0]))).all()
    assert not model.known()[0]


def test_token_count_is_chars_over_four() -> None:
    assert cost.count_tokens(["abcd" * 10, ""]).tolist() == [10.0, 0.0]
