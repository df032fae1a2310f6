"""E-mail addresses, phone numbers and IP addresses.

Phone numbers have no checksum, so the layout carries the evidence. Found anywhere: an
international number (``+44 20 7946 0958``, ``+49(0)30 1234567``), a US number with its
separators (``(555) 123-4567``, ``555.123.4567``, ``1-555-123-4567``), and a European national
number starting with the trunk ``0`` in groups (``020 7946 0958``, ``06 12 34 56 78``). Found
only right after a phone word ("call", "tel", "mobile", ...): digits without separators
(``5551234567``) or in an unusual layout, which in a maths prompt are just numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from slicewise.policy import detect_checks as checks
from slicewise.policy.detect_base import Finding, Scan, isolated, word_char

_EMAIL = re.compile(
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-'")

_INTERNATIONAL = re.compile(rb"\+9[9 ().\-/]{5,24}9")
_AREA = re.compile(rb"\(9{1,5}\)[ .\-/]?9{2,5}(?:[ .\-/]?9{2,5}){0,3}")
_US = re.compile(rb"999[-. ]999[-. ]9999")
_TRUNK = re.compile(r"0\d{1,4}[ .\-/]\d{2,8}(?:[ .\-/]\d{2,4}){0,4}")
_LOOSE = re.compile(rb"9[9 ().\-/]{6,22}9")
_EXTENSION = re.compile(r" ?(?:x|ext\.?|extension) ?\d{1,6}\b", re.IGNORECASE)
_PHONE_WORDS = re.compile(
    r"phone|\btel\b|tel\.|\bcall(?:s|ing)?\b|mobile|\bcell|fax|whats ?app|sms|\btext\b|dial|"
    r"contact|reach|(?:my|your|his|her|their|our) number|\bring\b|telefon|handy|portable|"
    r"cellulare|telefono|teléfono|móvil|numéro|nummer|tél|\bmob\b|\bph\b"
)
_DOUBLE_SEPARATOR = re.compile(r"[ .\-/]{2}")
_TRUNK_ZERO = re.compile(r" ?\(0\) ?")
_DIGITS = re.compile(r"\d+")
_SSN_LAYOUT = re.compile(r"\d{3}-\d{2}-\d{4}")  # an SSN, even one never issued, is no phone
_DATE = re.compile(  # 2024-05-01, 01/05/2024, or a span of years 1983-1987
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|(?:1[5-9]|20)\d\d ?[-/] ?(?:1[5-9]|20)\d\d"
)

_IPV4 = re.compile(rb"9\.9{1,3}\.9{1,3}\.9{1,3}")
_IPV6 = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX_OR_COLON = frozenset("0123456789abcdefABCDEF:")


def emails(scan: Scan) -> Iterator[Finding]:
    text = scan.text
    for match in _EMAIL.finditer(text):
        start = match.start()
        while start > 0 and start > match.start() - 64 and _local_char(text[start - 1]):
            start -= 1
        while start < match.start() and text[start] == ".":
            start += 1
        if start < match.start():
            yield Finding("EMAIL", start, match.end())


def _local_char(char: str) -> bool:
    return char in _LOCAL or (char.isalnum() and not char.isascii())


def phones(scan: Scan) -> Iterator[Finding]:
    yield from _international(scan.text, scan.shape)
    yield from _area_code(scan.text, scan.shape)
    yield from _north_american(scan.text, scan.shape)
    for found in _TRUNK.finditer(scan.text):
        if not _SSN_LAYOUT.fullmatch(found.group()):
            yield from _trunk(scan.text, found.start(), found.end())
    yield from _named(scan)


def _international(text: str, shape: bytes) -> Iterator[Finding]:
    for match in _INTERNATIONAL.finditer(shape):
        yield from _phone(text, match.start(), match.end(), 8, 15)


def _area_code(text: str, shape: bytes) -> Iterator[Finding]:
    """``(0113) 496 0123`` (a trunk 0 inside the brackets) or ``(555) 123-4567``."""
    for match in _AREA.finditer(shape):
        start, end = match.span()
        if text[start + 1] == "0":
            yield from _phone(text, start, end, 9, 12)
        elif text[start + 4] == ")":
            yield from _phone(text, start, end, 10, 10)


def _north_american(text: str, shape: bytes) -> Iterator[Finding]:
    """``555-123-4567`` and the like, with an optional ``1-`` or ``001-`` in front."""
    for match in _US.finditer(shape):
        start = match.start()
        if start >= 2 and text[start - 2] == "1" and text[start - 1] in "-. ":
            start -= 2
            if text[start - 2 : start] == "00":
                start -= 2
        yield from _phone(text, start, match.end(), 10, 10 + match.start() - start)


def _named(scan: Scan) -> Iterator[Finding]:
    """Any 7-15 digits near a phone word, unless they read as a date or a span of years."""
    text = scan.text
    for match in _LOOSE.finditer(scan.shape):
        start, end = match.span()
        if not 7 <= match.group().count(b"9") <= 15 or _DATE.fullmatch(text, start, end):
            continue  # the cheap tests first: most runs of digits are no phone number
        if _near_phone_word(scan.lower, start, end):
            yield from _phone(text, start, end, 7, 15)


def _near_phone_word(lower: str, start: int, end: int) -> bool:
    """Whether a phone word is in the 40 characters before or the 16 after (``is my cell``)."""
    before = _PHONE_WORDS.search(lower, max(0, start - 40), start)
    return bool(before or _PHONE_WORDS.search(lower, end, end + 16))


def _phone(text: str, start: int, end: int, fewest: int, most: int) -> Iterator[Finding]:
    """One finding if ``text[start:end]`` stands alone, has ``fewest``-``most`` digits and no
    doubled separators; a following extension (``x123``, ``ext. 45``) is included."""
    extension = _EXTENSION.match(text, end)
    stop = extension.end() if extension else end
    if not isolated(text, start, stop) or (start > 0 and text[start - 1] in "+)"):
        return
    number = _TRUNK_ZERO.sub(" ", text[start:end]).replace("(", "").replace(")", "")
    digits = [c for c in number if c.isdigit()]
    if (
        fewest <= len(digits) <= most
        and not _DOUBLE_SEPARATOR.search(number)
        and digits.count(digits[0]) != len(digits)  # not 0000 0000 000
    ):
        yield Finding("PHONE", start, stop)


def _trunk(text: str, start: int, end: int) -> Iterator[Finding]:
    """A national number after the trunk 0: 9-12 digits, the separators after the first all
    alike (``08-170 669 07``, not the date-and-time ``01.02.2023 12``); trailing groups are
    dropped until it fits."""
    groups = list(_DIGITS.finditer(text, start, end))
    separators = [text[a.end()] for a in groups[:-1]]
    digits = sum(g.end() - g.start() for g in groups)
    for count in range(len(groups), 1, -1):
        if digits <= 12 and len(set(separators[1 : count - 1])) <= 1:
            if digits >= 9:
                yield from _phone(text, start, groups[count - 1].end(), 9, 12)
            return
        digits -= groups[count - 1].end() - groups[count - 1].start()


def ips(scan: Scan) -> Iterator[Finding]:
    text = scan.text
    for match in _IPV4.finditer(scan.shape):
        start, end = match.span()
        while start > 0 and start > match.start() - 2 and text[start - 1].isdigit():
            start -= 1
        if isolated(text, start, end) and checks.ipv4(text[start:end]):
            yield Finding("IP", start, end)
    yield from _ipv6(text)


def _ipv6(text: str) -> Iterator[Finding]:
    pos = 0
    while match := _IPV6.search(text, pos):
        start, end = match.start(), match.end()
        while start > 0 and text[start - 1] in _HEX_OR_COLON:
            start -= 1
        while end < len(text) and (text[end] in _HEX_OR_COLON or text[end] == "."):
            end += 1
        while text[end - 1] == ".":
            end -= 1
        pos = max(end, match.end())
        if word_char(text, start - 1) or word_char(text, end):
            continue
        if not checks.ipv6(text[start:end]):  # perhaps address:port, written without brackets
            end = text.rfind(":", start, end)
        if end > start and checks.ipv6(text[start:end]):
            yield Finding("IP", start, end)
