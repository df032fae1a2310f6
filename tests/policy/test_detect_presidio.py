"""The Presidio detector's mapping, with a stand-in analyzer (Presidio is an optional extra)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import pytest

from slicewise.errors import ConfigError
from slicewise.policy.detect import Finding, Patterns, Union
from slicewise.policy.detect_presidio import Presidio


@dataclass
class Result:
    entity_type: str
    start: int
    end: int


class Analyzer:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def analyze(self, **kwargs: Any) -> list[Result]:
        self.calls.append(kwargs)
        return [Result("EMAIL_ADDRESS", 8, 19), Result("PERSON", 0, 4), Result("URL", 10, 19)]


def test_entities_map_to_our_kinds_and_do_not_overlap() -> None:
    analyzer = Analyzer()
    detector = Presidio(min_score=0.7, analyzer=analyzer)
    assert detector.find("Jane at jane@ex.com") == [
        Finding("PERSON", 0, 4),
        Finding("EMAIL", 8, 19),
    ]
    assert analyzer.calls[0]["score_threshold"] == 0.7
    assert analyzer.calls[0]["language"] == "en"


def test_union_with_patterns() -> None:
    text = "Jane at jane@ex.com, card 4111111111111111"
    kinds = [f.kind for f in Union([Patterns(), Presidio(analyzer=Analyzer())]).find(text)]
    assert kinds == ["PERSON", "EMAIL", "CARD"]


@pytest.mark.skipif(
    importlib.util.find_spec("presidio_analyzer") is not None, reason="presidio is installed"
)
def test_missing_extra_says_how_to_install_it() -> None:
    with pytest.raises(ConfigError, match=r"slicewise\[presidio\]"):
        Presidio()
