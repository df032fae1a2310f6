"""Placeholders in, values back out: whole answers and streams cut anywhere."""

from __future__ import annotations

import itertools

import pytest

from slicewise.policy.detect import default_detector
from slicewise.policy.redact import Restorer, Vault, redact, restore

TEXT = (
    "Mail jane@example.com or bob@example.org, card 4111 1111 1111 1111; "
    "again jane@example.com. Key sk-proj-AbCdEf0123456789GhIjKl."
)


def redacted() -> tuple[str, Vault]:
    vault = Vault()
    return redact(TEXT, default_detector().find(TEXT), vault), vault


def test_typed_placeholders_and_same_value_same_placeholder() -> None:
    text, vault = redacted()
    assert text == ("Mail [EMAIL_1] or [EMAIL_2], card [CARD_1]; again [EMAIL_1]. Key [API_KEY_1].")
    assert vault.counts == {"EMAIL": 2, "CARD": 1, "API_KEY": 1}


def test_restore_round_trip() -> None:
    text, vault = redacted()
    assert restore(text, vault) == TEXT


def test_restore_keeps_unknown_placeholders_and_plain_text() -> None:
    _, vault = redacted()
    assert restore("[EMAIL_9] and [NOT_A_PLACEHOLDER] [x]", vault) == (
        "[EMAIL_9] and [NOT_A_PLACEHOLDER] [x]"
    )
    assert restore("nothing here", Vault()) == "nothing here"


def test_vault_never_shows_values() -> None:
    _, vault = redacted()
    assert "jane" not in repr(vault) and "4111" not in repr(vault)
    assert "EMAIL" in repr(vault)


def test_vault_made_from_values_reuses_their_placeholders() -> None:
    vault = Vault(values={"[EMAIL_1]": "a@b.io"}, counts={"EMAIL": 1})
    assert vault.placeholder("EMAIL", "a@b.io") == "[EMAIL_1]"
    assert vault.placeholder("EMAIL", "c@d.io") == "[EMAIL_2]"


def stream(answer: str, vault: Vault, cuts: list[int]) -> str:
    restorer = Restorer(vault)
    bounds = [0, *cuts, len(answer)]
    out = [restorer.feed(answer[a:b]) for a, b in itertools.pairwise(bounds)]
    return "".join(out) + restorer.flush()


def test_stream_cut_at_every_position() -> None:
    answer, vault = redacted()
    for cut in range(len(answer) + 1):
        assert stream(answer, vault, [cut]) == TEXT


def test_stream_one_character_at_a_time() -> None:
    answer, vault = redacted()
    assert stream(answer, vault, list(range(1, len(answer)))) == TEXT


@pytest.mark.parametrize("tail", ["[", "[EMA", "[EMAIL_", "[EMAIL_1"])
def test_unclosed_placeholder_is_held_then_flushed(tail: str) -> None:
    _, vault = redacted()
    restorer = Restorer(vault)
    assert restorer.feed("see " + tail) == "see "
    assert restorer.flush() == tail


def test_text_that_cannot_be_a_placeholder_is_not_held() -> None:
    _, vault = redacted()
    restorer = Restorer(vault)
    assert restorer.feed("a list [1, 2") == "a list [1, 2"
    assert restorer.feed("see [email") == "see [email"
    assert restorer.feed("x [" + "A" * 40) == "x [" + "A" * 40


def test_restorer_without_values_passes_chunks_through() -> None:
    restorer = Restorer(Vault())
    assert restorer.feed("[EMAIL_") == "[EMAIL_"
    assert restorer.flush() == ""
