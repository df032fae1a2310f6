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
from scipy.sparse import csr_matrix
from tokenizers import Tokenizer

from slicewise.errors import ArtifactError
from slicewise.features.base import Featurizer, normalise_rows
from slicewise.features.text import bounded
from slicewise.features.wordpiece import WordPieceIds

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("static")


@functools.cache
def _vectors(assets: Path, unknown: int | None) -> np.ndarray:
    """The shipped embedding table as read-only float32, loaded once per process.

    The row of the unknown token is zeroed, so it drops out of the mean as model2vec drops it.
    """
    from safetensors.numpy import load_file

    path = assets / "embeddings.safetensors"
    try:
        tensors = load_file(str(path))
        table = tensors["embeddings"].astype(np.float32)
        if "scales" in tensors:  # int8 rows, one float32 scale each
            table *= tensors["scales"].astype(np.float32)[:, None]
    except (OSError, KeyError) as exc:
        raise ArtifactError(
            f"{path}: cannot read the static embedding table ({exc}); "
            "reinstall slicewise or remake it with tools/distill_static.py"
        ) from None
    if unknown is not None:
        table[unknown] = 0.0
    table.setflags(write=False)
    return table


class StaticEmbedding(Featurizer):
    """Mean-pooled static token vectors; nothing to fit."""

    name = "static-minilm"
    version = 1

    def __init__(self, assets: Path = ASSETS) -> None:
        path = assets / "tokenizer.json"
        if not path.is_file():
            raise ArtifactError(
                f"{path}: missing; reinstall slicewise or remake it with tools/distill_static.py"
            )
        tokenizer = Tokenizer.from_file(str(path))
        self._table = _vectors(assets, tokenizer.token_to_id("[UNK]"))
        self._ids = WordPieceIds(tokenizer)
        self.dim = int(self._table.shape[1])

    def fit(self, texts: Sequence[str]) -> None:
        """Nothing to learn: the table is fixed."""

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1:
            return self._one(bounded(texts[0]))
        flat, starts = self._ids.batch([bounded(t) for t in texts])
        return normalise_rows(_pool(self._table, flat, starts))

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> StaticEmbedding:
        if arrays:
            raise ArtifactError(
                f"{cls.name} keeps no arrays, but the artifact has "
                f"{', '.join(sorted(arrays))}; it was saved by another featurizer"
            )
        return cls()

    def _one(self, text: str) -> np.ndarray:
        ids = np.array(self._ids.ids(text), dtype=np.int32)
        return normalise_rows(np.add.reduce(self._table[ids], axis=0, keepdims=True))


def _pool(table: np.ndarray, flat: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum of table rows per text: a (texts x vocabulary) count matrix times the table.

    A sparse product: ten times faster than gathering the rows and ``np.add.reduceat``.
    """
    counts = csr_matrix(
        (np.ones(len(flat), np.float32), flat, starts), shape=(len(starts) - 1, len(table))
    )
    return np.asarray(counts @ table, dtype=np.float32)
