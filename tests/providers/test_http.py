from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict

from slicewise.providers.http import MESSAGE_LIMIT, error_message, resolve_key, retry_after

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Thu, 01 Jan 2026 12:00:30 GMT"}, 30.0),
        ({"retry-after": "Thu, 01 Jan 2026 11:00:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after-ms": "x", "retry-after": "2"}, 2.0),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(CIMultiDict(headers), now=NOW) == seconds


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": {"message": "Rate limit", "type": "requests"}}', "Rate limit"),
        (
            b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
            "Overloaded",
        ),
        (b'{"error": "model not found"}', "model not found"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b'{"message": "bad gateway"}', "bad gateway"),
        (b"upstream connect error", "upstream connect error"),
        (b"", "no message in the response body"),
        (b'{"error": {}}', '{"error": {}}'),
    ],
)
def test_error_message(body: bytes, message: str) -> None:
    assert error_message(body) == message


def test_long_error_messages_are_cut() -> None:
    message = error_message(b"x" * 5000)
    assert len(message) == MESSAGE_LIMIT + 3
    assert message.endswith("...")


def test_resolve_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_KEY", "from-env")
    assert resolve_key("given", "SOME_KEY") == "given"
    assert resolve_key(None, "SOME_KEY") == "from-env"
    assert resolve_key(None, "UNSET_KEY_FOR_TEST") is None
    assert resolve_key(None, None) is None
