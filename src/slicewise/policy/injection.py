"""Scoring prompt-injection and jailbreak attempts: a probability in [0, 1].

The default scorer is a logistic regression over which words a text contains (adjacent word
pairs are supported but off: they cost three times the time for +0.001 F1), weighted by inverse
document frequency and L2-normalised, learned by ``tools/train_injection.py`` from openly licensed
labelled examples, generated ones (``injection_synthetic``) and, as more benign examples,
routing prompts. Its weights ship in
``injection_model/`` beside this module (its README names the data, their licences and the
cross-validated numbers), so scoring needs neither the data nor scikit-learn: a text's score is
a set intersection with the vocabulary and two sums, well under a tenth of a millisecond for a
typical prompt. The same scorer reads tool results, which are just text.

``default_threshold()`` (stored with the weights) was chosen by cross-validation: the highest F1
whose false-positive rate on benign prompts stays under 2 %.
"""

from __future__ import annotations

import functools
import itertools
import math
import string
from pathlib import Path
from typing import Protocol

import numpy as np

from slicewise.errors import ArtifactError

ASSETS = Path(__file__).with_name("injection_model")
WEIGHTS = ASSETS / "weights.safetensors"

_SPACES = str.maketrans(dict.fromkeys(string.punctuation.replace("'", ""), " "))


class Scorer(Protocol):
    def score(self, text: str) -> float: ...


def words(text: str) -> list[str]:
    """Lower-case ASCII words: punctuation splits them, an apostrophe does not (``don't``).

    Other characters become separators first: ``str.translate`` is ten times slower on a text
    with a single non-ASCII character, and the vocabulary is almost all English anyway."""
    lowered = text.lower()
    if not lowered.isascii():
        lowered = lowered.replace("’", "'").encode("ascii", "replace").decode("ascii")
    return lowered.translate(_SPACES).split()


def terms(text: str, pairs: bool = True) -> set[str]:
    """The distinct words of ``text`` and, with ``pairs``, its adjacent word pairs (``a b``)."""
    found = words(text)
    distinct = set(found)
    if pairs:
        distinct.update(map(" ".join, itertools.pairwise(found)))
    return distinct


class Linear:
    """``sigmoid(bias + sum(weight[t]) / sqrt(sum(idf[t]^2)))`` over the known terms ``t`` of
    a text: logistic regression on binary, idf-weighted, L2-normalised term features, with
    each weight already multiplied by its term's idf."""

    def __init__(
        self,
        weights: dict[str, tuple[float, float]],
        bias: float,
        threshold: float,
        pairs: bool = False,
    ) -> None:
        # Both sums in one pass of C-level look-ups: the weight is the real part, idf^2 the
        # imaginary part, and an unknown term adds 0 (a third of the time of two passes).
        self._terms = {term: complex(w, idf * idf) for term, (w, idf) in weights.items()}
        self.bias = bias
        self.threshold = threshold
        self.pairs = pairs

    def score(self, text: str) -> float:
        total = sum(map(self._terms.get, terms(text, self.pairs), itertools.repeat(0j)), 0j)
        if not total.imag:
            return _sigmoid(self.bias)
        return _sigmoid(self.bias + total.real / math.sqrt(total.imag))

    def flagged(self, text: str) -> bool:
        return self.score(text) >= self.threshold

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Linear:
        """Rebuild from ``terms`` (UTF-8, newline-separated, as uint8), ``weight``, ``idf``
        and ``params`` = [bias, threshold, pairs]."""
        try:
            vocabulary = arrays["terms"].tobytes().decode("utf-8").split("\n")
            weight, idf, params = arrays["weight"], arrays["idf"], arrays["params"]
        except (KeyError, UnicodeDecodeError) as error:
            raise ArtifactError(f"injection weights are malformed: {error}") from None
        if not (len(vocabulary) == len(weight) == len(idf)) or len(params) != 3:
            raise ArtifactError(
                f"injection weights are malformed: {len(vocabulary)} terms, {len(weight)} "
                f"weights, {len(idf)} idf values, {len(params)} parameters (expected 3)"
            )
        table = dict(zip(vocabulary, zip(weight.tolist(), idf.tolist(), strict=True), strict=True))
        return cls(table, float(params[0]), float(params[1]), bool(params[2]))

    def arrays(self) -> dict[str, np.ndarray]:
        vocabulary = list(self._terms)
        values = np.array([self._terms[t] for t in vocabulary], dtype=np.complex128)
        return {
            "terms": np.frombuffer("\n".join(vocabulary).encode("utf-8"), dtype=np.uint8),
            "weight": values.real.astype(np.float32),
            "idf": np.sqrt(values.imag).astype(np.float32),
            "params": np.array([self.bias, self.threshold, float(self.pairs)], dtype=np.float64),
        }


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


@functools.cache
def load(path: Path = WEIGHTS) -> Linear:
    """The scorer stored at ``path`` (the shipped one by default), read once per process."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return Linear.from_arrays(load_file(str(path)))
    except (OSError, SafetensorError) as error:
        raise ArtifactError(f"{path}: cannot read injection weights: {error}") from None


def default_scorer() -> Linear:
    return load()


def default_threshold() -> float:
    """The shipped scorer's threshold: scores at or above it are attacks."""
    return load().threshold
