"""The featurizer contract: prompt texts in, one L2-normalised float32 row per prompt out.

A featurizer may learn from training texts (``fit``); whatever it learned travels in a router
artifact as plain arrays (``arrays``/``from_arrays``) beside its ``name`` and ``version``, so a
saved router never pickles code. Bump ``version`` whenever the same text would map to a
different vector, so an artifact trained on the old vectors is refused instead of misread.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

import numpy as np


class Featurizer(abc.ABC):
    """Maps prompt texts to rows of a float32 matrix ``(n, dim)``, each row of unit length."""

    name: ClassVar[str]
    version: ClassVar[int]
    dim: int

    @abc.abstractmethod
    def fit(self, texts: Sequence[str]) -> None:
        """Learn from training texts; a no-op for featurizers with nothing to learn."""

    @abc.abstractmethod
    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 ``(len(texts), dim)``; rows L2-normalised (all zero only for empty text)."""

    @abc.abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """Learned state to save in a router artifact; ``{}`` when there is none."""

    @classmethod
    @abc.abstractmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Featurizer:
        """A ready featurizer from what ``arrays`` returned; ``ArtifactError`` if malformed."""


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to unit L2 length in place; all-zero rows stay zero. Returns ``matrix``."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1
    matrix /= norms[:, None]
    return matrix
