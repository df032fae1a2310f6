"""Prompt featurisation: texts to fixed-size float32 vectors for routers.

``featurizer(name)`` gives a fresh instance of a registered featurizer, ``restore`` one saved in
a router artifact. ``prompt_text`` turns chat turns into the text featurizers see;
``shape_features`` adds a few cheap hand features of length, digits, code and maths.
"""

from __future__ import annotations

import numpy as np

from slicewise.errors import ArtifactError, ConfigError
from slicewise.features.base import Featurizer
from slicewise.features.shape import SHAPE_NAMES, shape_features
from slicewise.features.static import StaticEmbedding
from slicewise.features.text import prompt_text
from slicewise.features.tfidf import HashedTfidf

__all__ = [
    "DEFAULT",
    "FEATURIZERS",
    "SHAPE_NAMES",
    "Featurizer",
    "featurizer",
    "prompt_text",
    "restore",
    "shape_features",
]

FEATURIZERS: dict[str, type[Featurizer]] = {
    StaticEmbedding.name: StaticEmbedding,
    HashedTfidf.name: HashedTfidf,
}

DEFAULT = StaticEmbedding.name


def featurizer(name: str) -> Featurizer:
    """A fresh, unfitted featurizer; ``ConfigError`` naming the allowed names if unknown."""
    return _class(name, ConfigError)()


def restore(name: str, version: int, arrays: dict[str, np.ndarray]) -> Featurizer:
    """The featurizer a router artifact was saved with; ``ArtifactError`` if it cannot be."""
    cls = _class(name, ArtifactError)
    if version != cls.version:
        raise ArtifactError(
            f"the router was saved with featurizer {name} version {version}, but this slicewise "
            f"has version {cls.version}, which maps prompts differently; retrain the router"
        )
    return cls.from_arrays(arrays)


def _class(name: str, error: type[ConfigError] | type[ArtifactError]) -> type[Featurizer]:
    try:
        return FEATURIZERS[name]
    except KeyError:
        allowed = ", ".join(sorted(FEATURIZERS))
        raise error(f"unknown featurizer {name!r}; choose one of: {allowed}") from None
