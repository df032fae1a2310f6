"""Scoring prompt-injection and jailbreak attempts: a probability in [0, 1].

(Skeleton: a few phrases until the trained scorer lands; the interface stays.)
"""

from __future__ import annotations

from typing import Protocol

_PHRASES = ("ignore previous instructions", "ignore all previous", "you are now dan")


class Scorer(Protocol):
    def score(self, text: str) -> float: ...


class Phrases:
    def score(self, text: str) -> float:
        lowered = text.lower()
        return 1.0 if any(phrase in lowered for phrase in _PHRASES) else 0.0


def default_scorer() -> Scorer:
    return Phrases()
