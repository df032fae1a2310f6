from __future__ import annotations

import random
from collections import Counter

import pytest
from tokenizers import Tokenizer

from slicewise.features.static import ASSETS
from slicewise.features.wordpiece import WordPieceIds


def _rust() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(ASSETS / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _texts() -> list[str]:
    rng = random.Random(0)
    common = "abcdefXYZ 0123 \n\t.,;!?'\"-_()[]{}$%&*+/<=>@\\^`|~"
    rare = "éüß—“”€中文한국어Ελληνικά\u00a0\u2028\x00\x01\x0b\x1f\x7f\ufffd🙂\u0301"
    texts = [
        "".join(rng.choice(common if rng.random() < 0.8 else rare) for _ in range(80))
        for _ in range(400)
    ]
    return [*texts, "", "Hello, World!", "[CLS] x [SEP]", "a" * 150, "naïve café", "x—y"]


@pytest.mark.parametrize("cache_words", [200_000, 0])
def test_same_ids_as_the_rust_tokenizer(cache_words: int) -> None:
    rust, fast = _rust(), WordPieceIds(_rust(), cache_words=cache_words)
    texts = _texts()
    flat, starts = fast.batch(texts)
    for i, text in enumerate(texts):
        expected = Counter(rust.encode(text, add_special_tokens=False).ids)
        assert Counter(fast.ids(text)) == expected, text
        assert Counter(flat[starts[i] : starts[i + 1]].tolist()) == expected, text


def test_batch_layout() -> None:
    flat, starts = WordPieceIds(_rust()).batch(["hello world", "", "hi"])
    assert starts.tolist() == [0, 2, 2, 3]
    assert flat.dtype.name == "int32"
