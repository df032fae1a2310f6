"""Checksums and validity rules that turn a pattern match into a finding.

A regular expression finds what looks like a card number or an IBAN; these functions decide
whether it is one: the Luhn check for cards, ISO 13616 mod-97 and the country's length for
IBANs, the Social Security Administration's never-issued ranges for SSNs, octet ranges for IPv4.
They are what keeps the false-positive rate low on prompts full of numbers.
"""

from __future__ import annotations

import ipaddress

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
"""Country code -> IBAN length (SWIFT's IBAN registry); an unknown country is not an IBAN."""


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if i % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_number(digits: str) -> bool:
    """12-19 digits (Maestro starts at 12), not one digit repeated, passing Luhn."""
    return 12 <= len(digits) <= 19 and digits.count(digits[0]) != len(digits) and luhn(digits)


def iban(compact: str) -> bool:
    """An IBAN without spaces: known country, its length, and ISO 7064 mod 97 == 1."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rotated = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rotated)) % 97 == 1


def ssn(area: str, group: str, serial: str) -> bool:
    """A US SSN the SSA could have issued: area not 000, 666 or 9xx; group and serial not 0."""
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


def ipv4(address: str) -> bool:
    """Four decimal octets 0-255 without leading zeros (``010`` is octal to some parsers)."""
    octets = address.split(".")
    return len(octets) == 4 and all(
        o.isdigit() and int(o) <= 255 and (o == "0" or o[0] != "0") for o in octets
    )


def ipv6(address: str) -> bool:
    """A valid IPv6 address with at least one digit, so ``::`` in code does not count."""
    if not any(c.isdigit() for c in address) or address.count(":") < 2:
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def looks_random(value: str) -> bool:
    """A token that mixes digits and letters, or cases: a key, not a word."""
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    mixed_case = not value.islower() and not value.isupper()
    return (has_digit and has_alpha) or (has_alpha and mixed_case and len(value) >= 20)
