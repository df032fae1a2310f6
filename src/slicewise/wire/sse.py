"""Server-sent events: the framing both vendors stream in, decoded from raw bytes.

Only what chat streams use is kept: ``event:`` and ``data:`` fields, events ended by a blank
line, comment lines (``: ping``) skipped; ``id:`` and ``retry:`` are ignored. Data stays bytes
so the JSON in it goes straight to orjson without a decode and re-encode.
"""

from __future__ import annotations

ServerEvent = tuple[str, bytes]
"""An event's name (``message`` when the server sent none) and its data."""


class SSEDecoder:
    """Feed it chunks as they arrive; it returns the events each chunk completes."""

    def __init__(self) -> None:
        self._partial = b""
        self._event = ""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        events = []
        for line in lines:
            event = self._line(line[:-1] if line.endswith(b"\r") else line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerEvent]:
        """The last event, if the stream ended without the blank line that completes it."""
        return self.feed(b"\n\n") if self._partial or self._data else []

    def _line(self, line: bytes) -> ServerEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(b"data:"):
            self._data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        elif line.startswith(b"event:"):
            self._event = line[6:].strip().decode("utf-8", "replace")
        return None

    def _dispatch(self) -> ServerEvent | None:
        data, self._data = self._data, []
        event, self._event = self._event or "message", ""
        if not data:
            return None
        return event, data[0] if len(data) == 1 else b"\n".join(data)
