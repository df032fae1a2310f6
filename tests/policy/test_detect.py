"""The default detector: each kind found where it is, and the near misses left alone."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import orjson
import pytest

from slicewise.policy.detect import KINDS, Finding, Patterns, Union, default_detector, resolve

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("SLICEWISE_DATA", ROOT.parent / "shared" / "data"))


def found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in default_detector().find(text)]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (
            "Write to jane.doe+news@mail.example.co.uk today",
            "EMAIL",
            "jane.doe+news@mail.example.co.uk",
        ),
        ("<JOHN_SMITH@EXAMPLE.ORG>", "EMAIL", "JOHN_SMITH@EXAMPLE.ORG"),
        ("Call +44 20 7946 0958 now", "PHONE", "+44 20 7946 0958"),
        ("Tel. +49(0)30 1234567", "PHONE", "+49(0)30 1234567"),
        ("ring (555) 123-4567 after six", "PHONE", "(555) 123-4567"),
        ("office 555.123.4567x123.", "PHONE", "555.123.4567x123"),
        ("US 1-555-123-4567", "PHONE", "1-555-123-4567"),
        ("London 020 7946 0958", "PHONE", "020 7946 0958"),
        ("Paris 06 12 34 56 78", "PHONE", "06 12 34 56 78"),
        ("(0113) 496 0123 is the desk", "PHONE", "(0113) 496 0123"),
        ("call me at 5551234567", "PHONE", "5551234567"),
        ("Visa 4111 1111 1111 1111 exp 12/25", "CARD", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111", "CARD", "4111-1111-1111-1111"),
        ("4111111111111111", "CARD", "4111111111111111"),
        ("amex 3782 822463 10005.", "CARD", "3782 822463 10005"),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN", "GB82 WEST 1234 5698 7654 32"),
        ("DE89370400440532013000", "IBAN", "DE89370400440532013000"),
        ("SSN 123-45-6789.", "SSN", "123-45-6789"),
        ("ssn 123 45 6789", "SSN", "123 45 6789"),
        ("my SSN: 123456789", "SSN", "123456789"),
        ("host 192.168.1.20, port 22", "IP", "192.168.1.20"),
        ("ping 0.0.0.0", "IP", "0.0.0.0"),
        ("v6 2001:db8:85a3::8a2e:370:7334 up", "IP", "2001:db8:85a3::8a2e:370:7334"),
        ("link-local fe80::1.", "IP", "fe80::1"),
        ("listen on [::1]:8080", "IP", "::1"),
        ("mapped ::ffff:192.0.2.1 ok", "IP", "::ffff:192.0.2.1"),
    ],
)
def test_finds_each_kind(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1112",  # Luhn fails
        "0000 0000 0000 0000",  # passes Luhn, but one digit repeated
        "GB82 WEST 1234 5698 7654 33",  # mod-97 fails
        "XX82WEST12345698765432",  # unknown country
        "000-12-3456",  # area 000 is never issued
        "666-12-3456",
        "912-12-3456",  # area 9xx is never issued
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "123456789 apples",  # nine digits without an SSN word
        "999.1.1.1",  # octet over 255
        "10.0.0.256",
        "version v1.2.3.4",
        "1.2.3.4.5",
        "010.1.1.1",  # leading zero
        "std::vector<int> and a::b",
        "at 12:30:45 sharp",
        "MAC 00:1A:2B:3C:4D:5E",
        "The answer is 5551234567",  # ten digits, no phone word
        "Between 01.02.2023 12:30 and 2023-01-05",
        "Compute 3.14159 * 2.71828 + 1234567",
        "x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
        "@decorator and @user and user@localhost",
        "It took four years (1983-1987) and was called Bad Taste",
    ],
)
def test_near_misses_are_not_findings(text: str) -> None:
    assert found(text) == []


def test_findings_are_ordered_and_do_not_overlap() -> None:
    text = "a@b.io 4111111111111111 192.168.0.1 a@b.io +1 555 123 4567 " * 3
    findings = default_detector().find(text)
    assert len(findings) == 15
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_higher_priority_kind_wins_an_overlap() -> None:
    # the password of a connection string, not the "e-mail" pass@host.example.com
    text = "postgres://admin:pass@host.example.com/db"
    assert found(text) == [("PASSWORD", "pass")]


def test_resolve_keeps_earlier_then_longer_within_a_kind() -> None:
    kept = resolve([Finding("PHONE", 5, 9), Finding("PHONE", 0, 6), Finding("CARD", 8, 20)])
    assert kept == [Finding("PHONE", 0, 6), Finding("CARD", 8, 20)]


def test_patterns_can_be_limited_to_some_kinds() -> None:
    text = "jane@example.com 4111111111111111"
    assert [f.kind for f in Patterns(["CARD"]).find(text)] == ["CARD"]
    with pytest.raises(ValueError, match="unknown kinds"):
        Patterns(["NAME"])


def test_union_merges_detectors() -> None:
    class Fixed:
        def find(self, text: str) -> list[Finding]:
            return [Finding("NAME", 0, 4)]

    text = "Jane jane@example.com"
    kinds = [f.kind for f in Union([Patterns(), Fixed()]).find(text)]
    assert kinds == ["NAME", "EMAIL"]


def test_every_kind_has_a_finder() -> None:
    assert set(Patterns().kinds) == set(KINDS)


def test_short_and_empty_texts() -> None:
    assert default_detector().find("") == []
    assert found("a@b.io") == [("EMAIL", "a@b.io")]


def test_non_ascii_text_keeps_offsets() -> None:
    text = "Grüße aus Köln 🙂, schreib an jörg@example.de oder ruf +49 221 1234567 an"
    assert found(text) == [("EMAIL", "jörg@example.de"), ("PHONE", "+49 221 1234567")]


@pytest.mark.data
def test_few_routing_prompts_have_findings() -> None:
    path = DATA / "gsm8k-zeroeval" / "dev.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the shared outcomes data is not on this machine")
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    texts = ["\n".join(m["content"] for m in row["messages"]) for row in rows]
    hits = [t for t in texts if default_detector().find(t)]
    assert len(hits) < 0.01 * len(texts)
