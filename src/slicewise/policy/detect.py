"""Finding personal data and secrets in text.

A ``Detector`` returns ``Finding`` spans; the default one is regular expressions plus checksum
validation, with no model and no download. A stronger detector (Presidio) can be plugged in
behind the same interface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

KINDS = (
    "EMAIL",
    "PHONE",
    "CARD",
    "IBAN",
    "SSN",
    "IP",
    "API_KEY",
    "PRIVATE_KEY",
    "PASSWORD",
)
"""Every kind the default detector reports; placeholders and ledger counts use these names."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    start: int
    end: int


class Detector(Protocol):
    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in ``text``, ordered by ``start``."""
        ...


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class Patterns:
    """The default detector. (Skeleton: e-mail only until the full pattern set lands.)"""

    def find(self, text: str) -> list[Finding]:
        if "@" not in text:
            return []
        return [Finding("EMAIL", m.start(), m.end()) for m in _EMAIL.finditer(text)]


def default_detector() -> Detector:
    return Patterns()
