from __future__ import annotations

import numpy as np
import pytest

from slicewise.routing.cost import CostModel
from slicewise.routing.knn import KnnRouter
from slicewise.routing.router import Features
from slicewise.routing.topk import top_k


def reference(values: np.ndarray, k: int) -> np.ndarray:
    """The k largest per row by a full stable sort (ties to the lower column), ascending."""
    return np.sort(np.argsort(-values, axis=1, kind="stable")[:, :k], axis=1)


@pytest.mark.parametrize(("width", "k"), [(5608, 128), (2000, 128), (300, 37), (40, 5), (9, 9)])
@pytest.mark.parametrize("levels", [None, 7, 1])
def test_top_k_equals_a_full_stable_sort(width: int, k: int, levels: int | None) -> None:
    rng = np.random.default_rng(width + k)
    values = rng.standard_normal((50, width)).astype(np.float32)
    if levels is not None:  # many ties, all of them at the k-th value when levels == 1
        values = np.round(values * levels / 3) if levels > 1 else np.zeros_like(values)
    values[3] = values[4]  # sorted and grouped rows must not slow or break it
    values[5] = np.sort(values[5])
    assert np.array_equal(top_k(values, k), reference(values, k))


def test_top_k_keeps_exact_duplicates_of_the_kth_value_by_column() -> None:
    values = np.array([[0.5, 0.9, 0.5, 0.1, 0.5]], np.float32)
    assert top_k(values, 2).tolist() == [[0, 1]]
    assert top_k(values, 3).tolist() == [[0, 1, 2]]


def test_knn_predictions_are_the_exact_neighbourhood_means() -> None:
    rng = np.random.default_rng(1)
    embedding = rng.standard_normal((3000, 16)).astype(np.float32)
    embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
    scores = rng.integers(0, 31, (3000, 3)).astype(np.float32) / 30
    scores[::7, 1] = np.nan
    cost = CostModel(np.ones(3), np.zeros(3))
    router = KnnRouter(["a", "b", "c"], cost, None, None, None, embedding, scores, 64, 16.0)
    query = embedding[:200] + 0.1 * rng.standard_normal((200, 16)).astype(np.float32)
    features = Features(np.zeros(200), np.zeros((200, 0)), query)

    nearest = reference(query @ embedding.T, 64)
    known = ~np.isnan(scores)
    means = np.where(known, scores, 0).sum(axis=0) / known.sum(axis=0)
    total = np.nansum(scores[nearest].astype(np.float64), axis=1)
    expected = (total + 16.0 * means) / (known[nearest].sum(axis=1) + 16.0)
    assert np.array_equal(router.predict_quality(features), expected)
