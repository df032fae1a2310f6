from __future__ import annotations

import numpy as np
import pytest

from slicewise.errors import ArtifactError, ConfigError
from slicewise.features import DEFAULT, FEATURIZERS, Featurizer, featurizer, restore

from .samples import TRAIN

ODD = [
    "",
    "   \n\t ",
    "Ünïcödé: naïve café, 中文字符, Ελληνικά, emoji 🙂, math ∑ x² ≤ ∞",
    "control\x00chars\x0bhere\x1f and [CLS] [MASK] tokens",
    "word " * 20_000,
    "x" * 300,
]


def test_registry_names_and_default() -> None:
    assert set(FEATURIZERS) == {"static-minilm", "tfidf"}
    assert DEFAULT in FEATURIZERS


def test_unknown_name_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match="static-minilm, tfidf"):
        featurizer("word2vec")


def test_shape_dtype_and_unit_rows(fitted: Featurizer) -> None:
    out = fitted.transform(TRAIN[:5])
    assert out.shape == (5, fitted.dim)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_empty_batch(fitted: Featurizer) -> None:
    assert fitted.transform([]).shape == (0, fitted.dim)


def test_odd_texts_give_finite_unit_or_zero_rows(fitted: Featurizer) -> None:
    out = fitted.transform(ODD)
    assert out.shape == (len(ODD), fitted.dim)
    assert np.isfinite(out).all()
    norms = np.linalg.norm(out, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))
    assert norms[0] == 0  # nothing to embed


def test_single_prompt_equals_its_row_in_a_batch(fitted: Featurizer) -> None:
    texts = [*TRAIN[:4], *ODD]
    batch = fitted.transform(texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(fitted.transform([text])[0], batch[i], atol=1e-5)


def test_deterministic_across_instances(fitted: Featurizer) -> None:
    again = featurizer(fitted.name)
    again.fit(TRAIN)
    texts = TRAIN[:6] + ODD[2:4]
    np.testing.assert_array_equal(fitted.transform(texts), again.transform(texts))
    np.testing.assert_array_equal(fitted.transform(texts), fitted.transform(texts))


def test_similar_prompts_are_closer_than_unrelated_ones(fitted: Featurizer) -> None:
    a, b, c = fitted.transform(
        [
            TRAIN[1],
            "Solve for y: 2y + 7 = 15. Show your reasoning.",
            "Summarise the plot of Hamlet in two sentences.",
        ]
    )
    assert a @ b > a @ c


def test_arrays_round_trip(fitted: Featurizer) -> None:
    arrays = fitted.arrays()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in arrays.values())
    back = restore(fitted.name, fitted.version, {k: v.copy() for k, v in arrays.items()})
    assert back.dim == fitted.dim
    np.testing.assert_allclose(
        back.transform(ODD + TRAIN), fitted.transform(ODD + TRAIN), atol=1e-6
    )


def test_version_mismatch_is_an_artifact_error(fitted: Featurizer) -> None:
    with pytest.raises(ArtifactError, match="retrain"):
        restore(fitted.name, fitted.version + 1, fitted.arrays())


def test_unknown_name_in_an_artifact_is_an_artifact_error() -> None:
    with pytest.raises(ArtifactError, match="unknown featurizer"):
        restore("word2vec", 1, {})


def test_foreign_arrays_are_an_artifact_error() -> None:
    with pytest.raises(ArtifactError):
        restore("static-minilm", 1, {"projection": np.zeros((2, 2), np.float32)})
    with pytest.raises(ArtifactError):
        restore("tfidf", 1, {})
