"""``static-minilm``: mean of per-token vectors distilled from all-MiniLM-L6-v2 (model2vec).

The vectors and the tokenizer live in the ``static/`` folder beside this module; its README says
how they were made (``tools/distill_static.py``). Inference is a table look-up and a mean: no
torch, no model2vec. model2vec's token weighting is baked into the stored rows, and since rows
are L2-normalised afterwards the mean is computed as a plain sum.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from slicewise.errors import ArtifactError
from slicewise.features.base import Featurizer, normalise_rows
from slicewise.features.text import bounded
from slicewise.features.wordpiece import WordPieceIds

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("static")
CHUNK_TOKENS = 1 << 17
"""Tokens gathered at once in a batch: bounds the temporary (tokens x dim) float32 block."""


@functools.cache
def _vectors(unknown: int | None) -> np.ndarray:
    """The shipped embedding table as read-only float32, loaded once per process.

    The row of the unknown token is zeroed, so it drops out of the mean as model2vec drops it.
    """
    from safetensors.numpy import load_file

    path = ASSETS / "embeddings.safetensors"
    try:
        table = load_file(str(path))["embeddings"].astype(np.float32)
    except (OSError, KeyError) as exc:
        raise ArtifactError(f"{path}: cannot read the static embedding table ({exc}); "
                            "reinstall slicewise or remake it with tools/distill_static.py") from None
    if unknown is not None:
        table[unknown] = 0.0
    table.setflags(write=False)
    return table


class StaticEmbedding(Featurizer):
    """Mean-pooled static token vectors; nothing to fit."""

    name = "static-minilm"
    version = 1

    def __init__(self) -> None:
        tokenizer = Tokenizer.from_file(str(ASSETS / "tokenizer.json"))
        self._table = _vectors(tokenizer.token_to_id("[UNK]"))
        self._ids = WordPieceIds(tokenizer)
        self.dim = int(self._table.shape[1])

    def fit(self, texts: Sequence[str]) -> None:
        """Nothing to learn: the table is fixed."""

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1:
            return self._one(bounded(texts[0]))
        flat, starts = self._ids.batch([bounded(t) for t in texts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo, hi in _chunks(starts, CHUNK_TOKENS):
            out[lo:hi] = _pool(self._table, flat, starts[lo : hi + 1])
        return normalise_rows(out)

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> StaticEmbedding:
        if arrays:
            raise ArtifactError(f"{cls.name} keeps no arrays, but the artifact has "
                                f"{', '.join(sorted(arrays))}; it was saved by another featurizer")
        return cls()

    def _one(self, text: str) -> np.ndarray:
        ids = self._ids.ids(text)
        row = self._table[ids].sum(axis=0, dtype=np.float32)[None, :] if ids else None
        return normalise_rows(row) if row is not None else np.zeros((1, self.dim), np.float32)


def _pool(table: np.ndarray, flat: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum of table rows per text, for texts whose ids are ``flat[starts[0]:starts[-1]]``."""
    sums = np.zeros((len(starts) - 1, table.shape[1]), dtype=np.float32)
    nonempty = starts[1:] > starts[:-1]
    if nonempty.any():
        rows = table[flat[starts[0] : starts[-1]]]
        offsets = (starts[:-1] - starts[0])[nonempty]
        sums[nonempty] = np.add.reduceat(rows, offsets, axis=0)
    return sums


def _chunks(starts: np.ndarray, tokens: int) -> list[tuple[int, int]]:
    """Text ranges ``[lo, hi)`` of about ``tokens`` tokens each (at least one text)."""
    bounds, lo, n = [], 0, len(starts) - 1
    while lo < n:
        hi = int(np.searchsorted(starts, starts[lo] + tokens, side="right")) - 1
        hi = min(max(hi, lo + 1), n)
        bounds.append((lo, hi))
        lo = hi
    return bounds
