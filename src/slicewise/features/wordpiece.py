"""WordPiece token ids for pooling: the Rust tokenizer's ids, at a fraction of its cost.

``tokenizers`` spends most of its time on bookkeeping that pooling never reads (offsets,
alignments, an ``Encoding`` per text): about 75 µs for a 300-character prompt, which alone caps
batch featurisation near 13,000 prompts/s on one core. Here one regex splits the lower-cased
text into words (runs of non-space characters other than ASCII punctuation, and single ASCII
punctuation marks), and a dict maps each word to its pieces. The dict starts with the
vocabulary's whole words; a word not in it yet is split by greedy longest-match WordPiece in
Python if it is plain ASCII, or else handed to the Rust tokenizer (which also applies BERT's
accent stripping, Chinese-character and Unicode-punctuation splits inside the word), and
remembered (up to ``CACHE_WORDS``).

The ids equal the Rust tokenizer's, in a possibly different order (pooling ignores order),
except where Python's ``str.lower`` and Rust's per-character lower-casing disagree (a Greek
capital sigma at the end of a word). Texts containing characters on which Python's and BERT's
idea of whitespace differ, or a literal special token such as ``[CLS]``, go to the Rust
tokenizer whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from itertools import chain

import numpy as np
from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

CACHE_WORDS = 20_000
"""Words remembered beyond the vocabulary before the cache starts over (all three dev files
together have 7,500 such words); bounds memory and the garbage collector's work."""

MAX_WORD_CHARS = 100
"""BERT's limit: a longer word becomes the unknown token."""

_PUNCT = r"!-/:-@\[-`{-~"
_WORD = re.compile(rf"[^\s{_PUNCT}]+|[{_PUNCT}]")
_SPLIT_DIFFERENTLY = re.compile(r"[\x0b\x0c\x1c-\x1f\x85]")  # Python splits, BERT deletes


class WordPieceIds:
    """Token ids of texts as the given BERT-style (uncased WordPiece) tokenizer produces them."""

    def __init__(self, tokenizer: Tokenizer, cache_words: int = CACHE_WORDS) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._vocab: dict[str, int] = tokenizer.get_vocab(with_added_tokens=False)
        self._unknown = (self._vocab["[UNK]"],)
        self._longest = max(len(w) for w in self._vocab)  # no piece is longer
        self._base: dict[str, tuple[int, ...]] = {
            w: (i,) for w, i in self._vocab.items() if not w.startswith("##")
        }
        self._known = dict(self._base)
        self._cache_words = cache_words
        self._learned = 0
        specials = [t.content for t in tokenizer.get_added_tokens_decoder().values()]
        self._specials = re.compile("|".join(map(re.escape, specials)) or "(?!)")

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, no special tokens added."""
        words = self._words(text)
        if words is None:
            return self._whole(text)
        known = self._known  # _learn may start a new cache; this one is kept complete here
        try:
            return _lookup(known, words)
        except KeyError:
            known.update(self._learn(set(words).difference(known)))
            return _lookup(known, words)

    def batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All texts' ids end to end (int32) and where each text's ids start (int64, n + 1).

        Words new to the cache are collected over the whole batch and learned in one go.
        """
        known = self._known
        lists: list[list[int]] = []
        later: list[tuple[int, list[str]]] = []
        for text in texts:
            words = self._words(text)
            if words is None:
                lists.append(self._whole(text))
                continue
            try:
                lists.append(_lookup(known, words))
            except KeyError:
                later.append((len(lists), words))
                lists.append([])
        if later:
            known.update(self._learn(set().union(*(words for _, words in later)).difference(known)))
            for index, words in later:
                lists[index] = _lookup(known, words)
        return _flatten(lists)

    def _words(self, text: str) -> list[str] | None:
        """The text's words, or None if only the Rust tokenizer splits it right."""
        if _SPLIT_DIFFERENTLY.search(text) or self._specials.search(text):
            return None
        words: list[str] = _WORD.findall(text.lower())
        return words

    def _whole(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def _learn(self, words: set[str]) -> dict[str, tuple[int, ...]]:
        """Pieces of words not seen before; remembered in the cache, which starts over when full."""
        plain = {w: self._split(w) for w in words if w.isascii() and w.isprintable()}
        other = sorted(words.difference(plain))
        new = {**plain, **self._rust(other)} if other else plain
        if self._learned + len(new) > self._cache_words:
            self._known, self._learned = dict(self._base), 0  # memory stays bounded
        self._known.update(new)
        self._learned += len(new)
        return new

    def _split(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first WordPiece of one lower-case ASCII word."""
        if len(word) > MAX_WORD_CHARS:
            return self._unknown
        pieces, start = [], 0
        while start < len(word):
            end, prefix = min(len(word), start + self._longest), "##" if start else ""
            while end > start and (prefix + word[start:end]) not in self._vocab:
                end -= 1
            if end == start:
                return self._unknown
            pieces.append(self._vocab[prefix + word[start:end]])
            start = end
        return tuple(pieces)

    def _rust(self, words: list[str]) -> dict[str, tuple[int, ...]]:
        encoding = self._tokenizer.encode(words, is_pretokenized=True, add_special_tokens=False)
        pieces: dict[str, list[int]] = {w: [] for w in words}
        for index, token in zip(encoding.word_ids, encoding.ids, strict=True):
            if index is not None:
                pieces[words[index]].append(token)
        return {w: tuple(ids) for w, ids in pieces.items()}


def _lookup(known: dict[str, tuple[int, ...]], words: list[str]) -> list[int]:
    return list(chain.from_iterable(map(known.__getitem__, words)))


def _flatten(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    starts = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=starts[1:])
    flat = np.fromiter(chain.from_iterable(lists), dtype=np.int32, count=int(starts[-1]))
    return flat, starts
