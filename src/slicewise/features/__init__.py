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

# bench/features.py, one core, AUC proxy per source (routerbench / llmrouter / gsm8k-zeroeval):
#   static-minilm  0.659 / 0.756 / 0.593   one prompt p50 0.025 ms, p99 0.15 ms; 2,000 tokens
#                                          p50 0.13 ms; 37,000 prompts/s cold, 63,000 warm
#   tfidf          0.660 / 0.768 / 0.571   one prompt p50 0.09 ms, p99 0.20 ms; 59,000/s
#   ONNX int8 MiniLM (not shipped) 0.654 / 0.775 / 0.592 at 15 ms a prompt
#   shape features alone           0.649 / 0.665 / 0.536
# static-minilm has the best mean AUC of the two, nothing to fit (so no per-router state and no
# dependence on the training prompts' vocabulary), and the lower single-prompt latency.
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
