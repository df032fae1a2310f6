from __future__ import annotations

import numpy as np

from slicewise.features import SHAPE_NAMES, prompt_text, shape_features
from slicewise.features.text import bounded


def test_shape_features_columns_and_range() -> None:
    texts = [
        "",
        "What is 2+2?",
        "def f(x):\n    return x ** 2\n```",
        "é" * 50,
        "word " * 5000,
        "Which?\nA) one\nB) two\nC) three",
    ]
    out = shape_features(texts)
    assert out.shape == (len(texts), len(SHAPE_NAMES))
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= 0
    assert out.max() < 3
    assert (out[0] == 0).all()
    names = list(SHAPE_NAMES)
    assert out[1, names.index("questions")] > 0
    assert out[2, names.index("code_markers")] > out[1, names.index("code_markers")]
    assert out[3, names.index("non_ascii_share")] > 0
    assert out[5, names.index("choices")] > 0


def test_prompt_text_joins_turns() -> None:
    assert prompt_text((("user", "hi"),)) == "hi"
    text = prompt_text((("system", "be brief"), ("user", "hi")))
    assert "be brief" in text
    assert text.endswith("hi")


def test_bounded_keeps_head_and_tail() -> None:
    text = "a" * 100 + "b" * 100
    assert bounded(text, 10, 5) == "a" * 10 + "\n" + "b" * 5
    assert bounded("short", 10, 5) == "short"
