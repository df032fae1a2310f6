"""Payment cards, IBANs and US Social Security numbers.

Each finder scans ``Scan.shape`` for the digit layout, then checks the candidate in the
original text: boundaries, then the checksum or the issuing rules in ``detect_checks``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from slicewise.policy import detect_checks as checks
from slicewise.policy.detect_base import Finding, Scan, isolated

_CARD = re.compile(rb"9999[9 -]{8,19}9")
_IBAN = re.compile(rb"AA99(?: ?[A9]){11,34}")
_SSN = re.compile(rb"999([- ])99(?:\1)9999")
_SSN_BARE = re.compile(rb"999999999")
_SSN_WORDS = re.compile(r"ssn|social security|soc\.? sec|ss ?#|sozialversicherung")


def cards(scan: Scan) -> Iterator[Finding]:
    """13-19 digit card numbers, contiguous or grouped by single spaces or dashes (4-4-4-4,
    Amex 4-6-5, ...), passing Luhn. A trailing group that breaks the check (a CVV, a year) is
    left out."""
    text, pos = scan.text, 0
    while match := _CARD.search(scan.shape, pos):
        start, end = match.span()
        pos = end
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.,-+/"):
            continue
        found = _card_end(text, start, end)
        if found is None:
            pos = _next_group(text, start, end)
            continue
        yield Finding("CARD", start, found)
        pos = found


def _card_end(text: str, start: int, end: int) -> int | None:
    """The end of the longest run of whole groups from ``start`` that is a card number."""
    candidate = text[start:end]
    separators = {c for c in candidate if c in " -"}
    if len(separators) > 1 or (end < len(text) and text[end].isdigit()):
        return None
    groups = candidate.split(separators.pop()) if separators else [candidate]
    if "" in groups:
        return None
    for count in range(len(groups), 0, -1):
        head = groups[:count]
        stop = start + len(" ".join(head))
        if count > 1 and not _card_layout(head):
            continue
        if checks.card_number("".join(head)) and isolated(text, start, stop):
            return stop
    return None


def _card_layout(groups: list[str]) -> bool:
    """Grouped digits as cards print them: fours with a shorter last group (4-4-4-4,
    4-4-4-4-3, 4-4-4-1), or Amex and Diners' 4-6-5 and 4-6-4."""
    sizes = [len(g) for g in groups]
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _next_group(text: str, start: int, end: int) -> int:
    """Where to look again after a rejected candidate: its second group, so a card that
    follows another number in the same run is still found."""
    for at in range(start, end):
        if text[at] in " -":
            return at + 1
    return end


def ibans(scan: Scan) -> Iterator[Finding]:
    """IBANs of known countries, with or without spaces, whose length and mod-97 check hold."""
    text = scan.text
    for match in _IBAN.finditer(scan.shape):
        start = match.start()
        if start > 0 and text[start - 1].isalnum():
            continue
        length = checks.IBAN_LENGTHS.get(text[start : start + 2])
        if length is None:
            continue
        end = _iban_end(text, start, match.end(), length)
        compact = text[start:end].replace(" ", "") if end else ""
        if end and checks.iban(compact) and isolated(text, start, end):
            yield Finding("IBAN", start, end)


def _iban_end(text: str, start: int, limit: int, length: int) -> int:
    """The end of the first ``length`` letters and digits from ``start``, or 0 if fewer."""
    seen = 0
    for at in range(start, limit):
        if text[at] != " ":
            seen += 1
            if seen == length:
                return at + 1
    return 0


def ssns(scan: Scan) -> Iterator[Finding]:
    """SSNs as ``123-45-6789`` or ``123 45 6789`` anywhere, and as nine bare digits right after
    a word such as "SSN"; never-issued numbers (area 000, 666, 9xx; group 00; serial 0000)
    are not SSNs."""
    text = scan.text
    for match in _SSN.finditer(scan.shape):
        start, end = match.span()
        if isolated(text, start, end) and checks.ssn(
            text[start : start + 3], text[start + 4 : start + 6], text[start + 7 : end]
        ):
            yield Finding("SSN", start, end)
    for match in _SSN_BARE.finditer(scan.shape):
        start, end = match.span()
        if not (isolated(text, start, end) and _SSN_WORDS.search(scan.lower, start - 32, start)):
            continue
        if checks.ssn(text[start : start + 3], text[start + 3 : start + 5], text[start + 5 : end]):
            yield Finding("SSN", start, end)
