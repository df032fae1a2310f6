"""Finding personal data and secrets in text.

A ``Detector`` returns ``Finding`` spans; the default one, ``Patterns``, is regular expressions
plus checksum validation, with no model and no download, fast enough to run on every request
(``bench/policy.py``). A stronger detector (``slicewise.policy.detect_presidio.Presidio``, the
``presidio`` extra) plugs in behind the same interface, alone or with ``Union``.

The finders live by theme: ``detect_numbers`` (cards, IBANs, SSNs), ``detect_contact``
(e-mail, phone, IP) and ``detect_secrets`` (keys, private keys, passwords); ``detect_base``
holds what they share and explains why every pattern starts with a literal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from slicewise.policy import detect_contact, detect_numbers, detect_secrets
from slicewise.policy.detect_base import KINDS, Finding, Scan, resolve

__all__ = ["KINDS", "Detector", "Finding", "Patterns", "Union", "default_detector", "resolve"]

Finder = Callable[[Scan], Iterator[Finding]]

FINDERS: dict[str, Finder] = {
    "PRIVATE_KEY": detect_secrets.private_keys,
    "API_KEY": detect_secrets.api_keys,
    "PASSWORD": detect_secrets.passwords,
    "EMAIL": detect_contact.emails,
    "IBAN": detect_numbers.ibans,
    "CARD": detect_numbers.cards,
    "SSN": detect_numbers.ssns,
    "IP": detect_contact.ips,
    "PHONE": detect_contact.phones,
}
"""Kind -> the function that finds it; every kind of ``KINDS``."""


class Detector(Protocol):
    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in ``text``, ordered by ``start``."""
        ...


class Patterns:
    """The default detector: every kind of ``KINDS``, or the ``kinds`` asked for."""

    def __init__(self, kinds: Iterable[str] = KINDS) -> None:
        wanted = tuple(kinds)
        unknown = sorted(set(wanted) - set(FINDERS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; the known ones are {', '.join(KINDS)}")
        self.kinds = wanted
        self._finders = tuple(FINDERS[kind] for kind in wanted)

    def find(self, text: str) -> list[Finding]:
        if len(text) < 6:  # the shortest finding, an e-mail address such as a@b.io, has six
            return []
        scan = Scan(text)
        return resolve(finding for finder in self._finders for finding in finder(scan))


class Union:
    """Every finding of several detectors, overlaps settled as within one (``resolve``)."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)

    def find(self, text: str) -> list[Finding]:
        return resolve(finding for d in self.detectors for finding in d.find(text))


def default_detector() -> Detector:
    return Patterns()
