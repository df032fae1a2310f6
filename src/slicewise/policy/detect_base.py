"""What every detector shares: the ``Finding``, the text views the patterns scan, and the rule
that settles overlapping findings.

Speed comes from one habit: every pattern starts with a literal (``@``, ``sk-``, ``://``, a
digit), because CPython's regular-expression engine then skips ahead with a fast substring
search; a pattern that starts with a character class or a look-behind tries every position and
is 20-40 times slower. Patterns about digits run on ``Scan.shape``, a copy of the text with
every digit turned into ``9`` and every letter into ``A`` or ``a``: there "a run of four
digits" is the literal ``9999``. Boundaries and checksums are then checked in Python on the few
candidates.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

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

PRIORITY = {
    kind: rank
    for rank, kind in enumerate(
        ("PRIVATE_KEY", "API_KEY", "PASSWORD", "EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE")
    )
}
"""When two findings overlap, the kind listed first wins (a password inside a connection string
is a PASSWORD, not the tail of an e-mail address); unknown kinds come last."""

_SHAPE = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"9" * 10 + b"A" * 26 + b"a" * 26,
)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    start: int
    end: int


class Scan:
    """One text and the views of it that the patterns read, each made on first use."""

    __slots__ = ("_lower", "_shape", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._shape: bytes | None = None
        self._lower: str | None = None

    @property
    def shape(self) -> bytes:
        """Digits as ``9``, upper-case ASCII letters as ``A``, lower-case as ``a``; every
        other character is kept if ASCII and ``?`` if not, so offsets equal the text's."""
        if self._shape is None:
            self._shape = self.text.encode("ascii", "replace").translate(_SHAPE)
        return self._shape

    @property
    def lower(self) -> str:
        """The text in lower case, with the same offsets (a character whose lower case is
        longer, such as ``İ``, is kept as it is)."""
        if self._lower is None:
            lowered = self.text.lower()
            if len(lowered) != len(self.text):
                lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.text)
            self._lower = lowered
        return self._lower


def word_char(text: str, at: int) -> bool:
    """Whether ``text[at]`` exists and is a letter, a digit or ``_``."""
    return 0 <= at < len(text) and (text[at].isalnum() or text[at] == "_")


def isolated(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands alone: no letter or digit touches it, and it is not
    the middle of a longer number such as ``1.2.3.4.5`` or ``12-123-45-6789``."""
    before, after = start - 1, end
    if word_char(text, before) or word_char(text, after):
        return False
    if before >= 0 and text[before] in ".,-+/" and before > 0 and text[before - 1].isdigit():
        return False
    return not (
        after < len(text)
        and text[after] in ".,-/"
        and after + 1 < len(text)
        and text[after + 1].isdigit()
    )


def resolve(findings: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping findings ordered by start: higher-priority kinds first, then earlier
    and longer spans, each kept only if it overlaps nothing kept before it."""
    ranked = sorted(
        findings, key=lambda f: (PRIORITY.get(f.kind, len(PRIORITY)), f.start, f.start - f.end)
    )
    starts: list[int] = []
    kept: list[Finding] = []
    for finding in ranked:
        at = bisect.bisect_right(starts, finding.start)
        if at > 0 and kept[at - 1].end > finding.start:
            continue
        if at < len(kept) and kept[at].start < finding.end:
            continue
        starts.insert(at, finding.start)
        kept.insert(at, finding)
    return kept
