from __future__ import annotations

import pytest

from slicewise.wire.sse import SSEDecoder

STREAM = (
    b": keep-alive comment\n"
    b"event: message_start\n"
    b'data: {"a": 1}\n'
    b"\n"
    b"id: 7\r\n"
    b"retry: 100\r\n"
    b"data:first\r\n"
    b"data: second\r\n"
    b"\r\n"
    b"event: ping\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    ("message_start", b'{"a": 1}'),
    ("message", b"first\nsecond"),
    ("message", b"[DONE]"),
]


def test_whole_stream() -> None:
    assert SSEDecoder().feed(STREAM) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_events_split_across_chunks_at_any_byte(size: int) -> None:
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(STREAM), size):
        events.extend(decoder.feed(STREAM[start : start + size]))
    assert events == EXPECTED
    assert decoder.close() == []


def test_close_completes_a_last_event_without_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.close() == [("message", b"[DONE]")]
    assert SSEDecoder().close() == []
