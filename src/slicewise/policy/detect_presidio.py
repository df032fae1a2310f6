"""Presidio behind the ``Detector`` interface: a stronger, slower detector, never the default.

Microsoft Presidio adds what patterns cannot find, names and places (spaCy's named entities),
and many national identifiers. It is the optional extra ``presidio``::

    pip install 'slicewise[presidio]'
    python -m spacy download en_core_web_lg

then ``Union([Patterns(), Presidio()])`` finds both kinds. Presidio's entity names are mapped
to ours where they mean the same (``EMAIL_ADDRESS`` is ``EMAIL``); the others keep their own
name (``PERSON``, ``LOCATION``, ...). Expect milliseconds per prompt, not microseconds: the
spaCy pipeline runs on every text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slicewise.errors import ConfigError
from slicewise.policy.detect_base import Finding, resolve

KINDS = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP",
}
"""Presidio's entity name -> ours, where both mean the same thing."""


class Presidio:
    """Findings of Presidio's ``AnalyzerEngine`` scoring at least ``min_score``."""

    def __init__(
        self,
        language: str = "en",
        entities: Sequence[str] | None = None,
        min_score: float = 0.5,
        analyzer: Any = None,
    ) -> None:
        self.language = language
        self.entities = list(entities) if entities is not None else None
        self.min_score = min_score
        self._analyzer = analyzer if analyzer is not None else _engine()

    def find(self, text: str) -> list[Finding]:
        results = self._analyzer.analyze(
            text=text,
            language=self.language,
            entities=self.entities,
            score_threshold=self.min_score,
        )
        return resolve(
            Finding(KINDS.get(r.entity_type, r.entity_type), r.start, r.end) for r in results
        )


def _engine() -> Any:
    try:
        from presidio_analyzer import AnalyzerEngine
    except ImportError:
        raise ConfigError(
            "the Presidio detector needs the 'presidio' extra: pip install 'slicewise[presidio]' "
            "and a spaCy model (python -m spacy download en_core_web_lg)"
        ) from None
    return AnalyzerEngine()
