"""WordPiece token ids for pooling: the Rust tokenizer's ids, at a fraction of its cost.

``tokenizers`` spends most of its time per prompt on bookkeeping that pooling never reads
(offsets, alignments, one ``Encoding`` object per text): about 75 µs for a 300-character prompt,
which alone would cap batch featurisation near 13,000 prompts/s on one core. For ASCII text
without control characters, BERT's normaliser is plain lower-casing and its pre-tokeniser splits
into runs of letters and digits plus single other characters, which one regex does. Each word
then maps to its pieces through a dict that starts with the vocabulary's whole words; the words
of a text that are not in it yet go to the Rust tokenizer in one call and are remembered. Any other text (non-ASCII,
control characters, literal special tokens) goes to the Rust tokenizer unchanged, so the ids
are the same either way; only their order within a text may differ, which pooling ignores.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

CACHE_WORDS = 200_000
"""Most words learned beyond the vocabulary; later new words are tokenised but not kept."""

_WORD = re.compile(r"[a-z0-9]+|\S")
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


class WordPieceIds:
    """Token ids of texts as the given BERT-style tokenizer would produce them."""

    def __init__(self, tokenizer: Tokenizer, cache_words: int = CACHE_WORDS) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        vocab: dict[str, int] = tokenizer.get_vocab(with_added_tokens=False)
        self._known = {word: (i,) for word, i in vocab.items() if not word.startswith("##")}
        self._limit = len(self._known) + cache_words
        specials = [re.escape(t.content) for t in tokenizer.get_added_tokens_decoder().values()]
        self._slow = re.compile("|".join([_CONTROL, *specials]))

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, no special tokens added."""
        if self._plain(text):
            return self._fast(text)
        return list(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All texts' ids end to end (int32) and where each text's ids start (int64, n + 1)."""
        flat: list[int] = []
        starts = np.zeros(len(texts) + 1, dtype=np.int64)
        for i, ids in enumerate(self._each(texts), start=1):
            flat.extend(ids)
            starts[i] = len(flat)
        return np.array(flat, dtype=np.int32), starts

    def _each(self, texts: Sequence[str]) -> Iterable[list[int]]:
        slow = [i for i, t in enumerate(texts) if not self._plain(t)]
        rust = self._tokenizer.encode_batch_fast([texts[i] for i in slow], add_special_tokens=False)
        by_index = dict(zip(slow, rust, strict=True))
        for i, text in enumerate(texts):
            encoding = by_index.get(i)
            yield self._fast(text) if encoding is None else encoding.ids

    def _plain(self, text: str) -> bool:
        """True when the regex path gives exactly the Rust tokenizer's ids."""
        return text.isascii() and self._slow.search(text) is None

    def _fast(self, text: str) -> list[int]:
        words = _WORD.findall(text.lower())
        try:
            return list(chain.from_iterable(map(self._known.__getitem__, words)))
        except KeyError:
            new = self._learn({w for w in words if w not in self._known})
            return list(chain.from_iterable(self._known.get(w) or new[w] for w in words))

    def _learn(self, words: set[str]) -> dict[str, tuple[int, ...]]:
        """Pieces of words not seen before, from one call to the Rust tokenizer; kept if room."""
        order = sorted(words)
        encoding = self._tokenizer.encode(order, is_pretokenized=True, add_special_tokens=False)
        pieces: dict[str, list[int]] = {w: [] for w in order}
        for index, token in zip(encoding.word_ids, encoding.ids, strict=True):
            pieces[order[index]].append(token)
        new = {w: tuple(ids) for w, ids in pieces.items()}
        if len(self._known) < self._limit:
            self._known.update(new)
        return new
