"""``tfidf``: TF-IDF over hashed word unigrams and bigrams, projected to a dense vector.

``fit`` hashes every word and adjacent word pair into ``BUCKETS`` buckets, keeps the ``keep``
buckets found in the most training prompts, learns their inverse document frequency, and fits a
truncated SVD of the resulting TF-IDF matrix to ``dims`` components. ``transform`` is then a
sparse product: each prompt's vector is the (1 + log tf)-weighted sum of its terms' rows in the
``(keep, dims)`` projection (SVD components with the idf folded in), L2-normalised. The artifact
holds the kept buckets and that projection: 4096 x 128 float32, 2 MB. Hashes are CRC-32 of the
UTF-8 word, stable across processes and platforms.

Sizes measured with ``bench/features.py`` (AUC proxy, routerbench / llmrouter / gsm8k): keeping
8,192 buckets at 256 dimensions scored 0.660 / 0.771 / 0.569, 16,384 at 256 0.660 / 0.771 /
0.570, and 4,096 at 128 0.660 / 0.768 / 0.571, at a quarter of the artifact and transform cost.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix

from slicewise.errors import ArtifactError
from slicewise.features.base import Featurizer, normalise_rows
from slicewise.features.text import bounded

logger = logging.getLogger(__name__)

BUCKETS = 1 << 20
KEEP = 4096
DIMS = 128
CACHE_WORDS = 50_000
_WORD = re.compile(r"\w+")
_PAIR = np.uint64(0x9E3779B97F4A7C15)


class _Hashes(dict[str, int]):
    """Word -> CRC-32; a bounded cache, since the same words recur across prompts."""

    def __missing__(self, word: str) -> int:
        value = zlib.crc32(word.encode("utf-8", "surrogatepass"))
        if len(self) < CACHE_WORDS:
            self[word] = value
        return value


class HashedTfidf(Featurizer):
    """Hashed unigram + bigram TF-IDF, reduced by a truncated SVD learned in ``fit``."""

    name = "tfidf"
    version = 1

    def __init__(self, keep: int = KEEP, dims: int = DIMS) -> None:
        self.keep = keep
        self.dim = dims
        self._hashes = _Hashes()
        self._buckets: np.ndarray | None = None
        self._projection: np.ndarray | None = None
        self._column = np.empty(0, dtype=np.int32)

    def fit(self, texts: Sequence[str]) -> None:
        terms = [self._terms(t) for t in texts]
        buckets, idf = _vocabulary(terms, self.keep)
        self._set(buckets, _svd(terms, buckets, idf, self.dim) * idf[:, None])

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        projection = self._fitted()
        weights = _weights([self._columns(t) for t in texts], np.ones(len(projection), np.float32))
        return normalise_rows(np.asarray(weights @ projection, dtype=np.float32))

    def arrays(self) -> dict[str, np.ndarray]:
        projection = self._fitted()
        assert self._buckets is not None
        return {"buckets": self._buckets, "projection": projection}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> HashedTfidf:
        buckets, projection = arrays.get("buckets"), arrays.get("projection")
        if (
            buckets is None
            or projection is None
            or projection.ndim != 2
            or len(buckets) != len(projection)
            or set(arrays) != {"buckets", "projection"}
        ):
            raise ArtifactError(
                f"{cls.name} needs arrays 'buckets' (k,) and 'projection' (k, d); "
                f"the artifact has {', '.join(sorted(arrays)) or 'none'}"
            )
        made = cls(keep=len(buckets), dims=projection.shape[1])
        made._set(buckets.astype(np.int64), projection.astype(np.float32))
        return made

    def _set(self, buckets: np.ndarray, projection: np.ndarray) -> None:
        self._buckets = buckets
        self._projection = np.ascontiguousarray(projection, dtype=np.float32)
        self._column = np.full(BUCKETS, -1, dtype=np.int32)
        self._column[buckets] = np.arange(len(buckets), dtype=np.int32)

    def _fitted(self) -> np.ndarray:
        if self._projection is None:
            # a programming error (wrong call order), not a user's: not in the SlicewiseError tree
            raise RuntimeError("tfidf featurizer is not fitted: call fit(texts) or restore it")
        return self._projection

    def _terms(self, text: str) -> np.ndarray:
        """Bucket of each word and each adjacent word pair (int64)."""
        words = _WORD.findall(bounded(text).lower())
        uni = np.fromiter(map(self._hashes.__getitem__, words), dtype=np.uint64, count=len(words))
        pairs = uni[:-1] * _PAIR + uni[1:] if len(uni) > 1 else uni[:0]
        return (np.concatenate([uni, pairs]) % np.uint64(BUCKETS)).astype(np.int64)

    def _columns(self, text: str) -> np.ndarray:
        cols: np.ndarray = self._column[self._terms(text)]
        return np.asarray(cols[cols >= 0])


def _weights(cols: list[np.ndarray], idf: np.ndarray) -> csr_matrix:
    """Sparse (texts x kept terms) matrix of (1 + log tf) x idf."""
    text, col, tf = _term_counts(cols, len(idf))
    values = (1.0 + np.log(tf, dtype=np.float32)) * idf[col]
    return csr_matrix((values, (text, col)), shape=(len(cols), len(idf)), dtype=np.float32)


def _term_counts(cols: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, column, count) of each distinct term per text, sorted by text then column."""
    sizes = np.fromiter(map(len, cols), dtype=np.int64, count=len(cols))
    text = np.repeat(np.arange(len(cols), dtype=np.int64), sizes)
    flat = np.concatenate(cols).astype(np.int64) if cols else np.empty(0, np.int64)
    keys, tf = np.unique(text * k + flat, return_counts=True)
    return keys // k, keys % k, tf


def _vocabulary(terms: list[np.ndarray], keep: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``keep`` buckets in most texts (ties to the lower bucket), and their smoothed idf."""
    seen = [np.unique(t) for t in terms]
    df = np.bincount(np.concatenate([np.empty(0, np.int64), *seen]), minlength=BUCKETS)
    order = np.lexsort((np.arange(BUCKETS), -df))[:keep]
    buckets = np.sort(order[df[order] > 0])
    idf = np.log((1.0 + len(terms)) / (1.0 + df[buckets])) + 1.0
    return buckets.astype(np.int64), idf.astype(np.float32)


def _svd(terms: list[np.ndarray], buckets: np.ndarray, idf: np.ndarray, dims: int) -> np.ndarray:
    """``(len(buckets), dims)``: the SVD components of the TF-IDF matrix, zero-padded."""
    from sklearn.decomposition import TruncatedSVD  # training only
    from sklearn.preprocessing import normalize

    out = np.zeros((len(buckets), dims), dtype=np.float32)
    rank = min(dims, len(buckets) - 1, len(terms) - 1)
    if rank < 1:
        return out
    column = np.full(BUCKETS, -1, dtype=np.int64)
    column[buckets] = np.arange(len(buckets))
    matrix = normalize(_weights([c[c >= 0] for c in (column[t] for t in terms)], idf))
    svd = TruncatedSVD(n_components=rank, algorithm="randomized", random_state=0)
    svd.fit(matrix)
    out[:, :rank] = svd.components_.T
    return out
