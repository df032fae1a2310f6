"""Restoring redacted values in answers, including placeholders cut between stream deltas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from slicewise.chat import ChatResponse, Message, StreamEnd, StreamEvent, TextDelta, ToolCall
from slicewise.policy.answer import StreamRestorer, restored, restoring
from slicewise.policy.redact import Vault

VAULT = Vault({"[EMAIL_1]": "ann@example.org", "[CARD_1]": "4111"}, {"EMAIL": 1, "CARD": 1})


def test_a_whole_response_and_its_tool_arguments() -> None:
    response = ChatResponse(
        "r",
        "m",
        Message("assistant", "to [EMAIL_1]", (ToolCall("c", "send", '{"to": "[EMAIL_1]"}'),)),
        "stop",
    )
    out = restored(response, VAULT)
    assert out.message.content == "to ann@example.org"
    assert out.message.tool_calls[0].arguments == '{"to": "ann@example.org"}'


def test_a_placeholder_cut_between_deltas_is_held_until_it_closes() -> None:
    restorer = StreamRestorer(VAULT)
    pieces = ["mail [EM", "AIL", "_1] or [CA", "RD_1", "] [x", "] [UNKNOWN_9] end ["]
    out = [e for p in pieces for e in restorer.event(TextDelta(p))]
    out += restorer.event(StreamEnd("stop"))
    text = "".join(e.text for e in out if isinstance(e, TextDelta))
    assert text == "mail ann@example.org or 4111 [x] [UNKNOWN_9] end ["
    assert isinstance(out[-1], StreamEnd)


def test_restoring_wraps_a_stream_and_closes_it() -> None:
    closed = []

    async def events() -> AsyncIterator[StreamEvent]:
        try:
            yield TextDelta("1]!")
            yield StreamEnd("stop")
        finally:
            closed.append(True)

    out = asyncio.run(collect(restoring(TextDelta("hi [EMAIL_"), events(), VAULT)))
    assert out == [TextDelta("hi "), TextDelta("ann@example.org!"), StreamEnd("stop")]
    assert closed == [True]
    held = asyncio.run(collect(restoring(TextDelta("[EMAIL_"), events(), VAULT)))
    assert held[0] == TextDelta("")  # the first event never waits for the next one


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [e async for e in stream]
