from __future__ import annotations

import numpy as np
import pytest

from slicewise.features.tfidf import HashedTfidf

from .samples import TRAIN


def test_unfitted_transform_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        HashedTfidf().transform(["x"])


def test_arrays_are_the_kept_buckets_and_projection() -> None:
    made = HashedTfidf(keep=64, dims=8)
    made.fit(TRAIN)
    arrays = made.arrays()
    assert set(arrays) == {"buckets", "projection"}
    assert arrays["projection"].shape == (len(arrays["buckets"]), 8)
    assert len(arrays["buckets"]) <= 64
    assert made.transform(["What is the capital of France?"]).shape == (1, 8)


def test_unseen_words_only_give_a_zero_row() -> None:
    made = HashedTfidf(keep=64, dims=8)
    made.fit(TRAIN)
    assert not made.transform(["zzzqqq xxyyww"]).any()


def test_tiny_training_set_still_gives_the_promised_dim() -> None:
    made = HashedTfidf(dims=16)
    made.fit(["one text"])
    out = made.transform(["one text", "another"])
    assert out.shape == (2, 16)
    assert np.isfinite(out).all()
