"""Putting redacted values back into an answer: a whole response, or a stream as it passes.

A stream may cut a placeholder between two deltas (``[EMA`` then ``IL_1]``), so the text from
the last ``[`` that could still become a placeholder is held back until it either closes or
cannot be one; whatever is held when the stream ends goes out as it is.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

from slicewise.chat import ChatResponse, StreamEnd, StreamEvent, TextDelta, aclose
from slicewise.policy.redact import Vault, restore

_OPEN_PLACEHOLDER = re.compile(r"\[[A-Z_]*\d*$")
"""A tail that may still grow into ``[KIND_N]``."""


def restored(response: ChatResponse, vault: Vault) -> ChatResponse:
    """``response`` with every known placeholder in its text and tool arguments restored."""
    message = response.message
    content = None if message.content is None else restore(message.content, vault)
    calls = tuple(replace(c, arguments=restore(c.arguments, vault)) for c in message.tool_calls)
    return replace(response, message=replace(message, content=content, tool_calls=calls))


class StreamRestorer:
    """Restores the text deltas of one stream, holding back a placeholder cut in two."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.held = ""

    def event(self, event: StreamEvent) -> list[StreamEvent]:
        """What to send for ``event``: zero, one or two events."""
        if isinstance(event, TextDelta):
            text = self.held + event.text
            tail = _OPEN_PLACEHOLDER.search(text)
            self.held = tail.group(0) if tail else ""
            ready = text[: tail.start()] if tail else text
            return [TextDelta(restore(ready, self.vault))] if ready else []
        if self.held:
            flushed, self.held = self.held, ""
            return [TextDelta(flushed), event]
        return [event]


async def restoring(
    first: StreamEvent, events: AsyncIterator[StreamEvent], vault: Vault
) -> AsyncIterator[StreamEvent]:
    """``first`` and then ``events``, restored; closes ``events`` when closed itself."""
    restorer = StreamRestorer(vault)
    try:
        # at least one event for ``first``, so that taking it never waits on the upstream
        for out in restorer.event(first) or [TextDelta("")]:
            yield out
        if isinstance(first, StreamEnd):
            return
        async for event in events:
            for out in restorer.event(event):
                yield out
            if isinstance(event, StreamEnd):
                return
    finally:
        await aclose(events)
