"""The fake's deterministic answer to a chat request, before any wire format.

Text is the scripted text or an echo of the last user message, cut into word pieces (one per
stream delta). Tokens are counted as whitespace-separated words: the input's over every text of
the request (system included), the output's as the pieces sent. ``max_tokens`` (or
``max_completion_tokens``) truncates the pieces, and the answer then says so.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import orjson

from tests.fakes.script import Ok, ToolCall

PIECE = re.compile(r"\s*\S+")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Answer:
    number: int
    """Unique per answer, for the ids of the wire formats."""
    pieces: tuple[str, ...]
    tool_call: ToolCall | None
    input_tokens: int
    output_tokens: int
    truncated: bool

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def arguments(self) -> str:
        return "" if self.tool_call is None else orjson.dumps(self.tool_call.arguments).decode()

    def argument_pieces(self, size: int = 8) -> list[str]:
        args = self.arguments
        return [args[i : i + size] for i in range(0, len(args), size)] or [""]


def answer(ok: Ok, body: dict[str, Any]) -> Answer:
    number = next(_ids)
    inputs = words(body.get("system")) + sum(words(m.get("content")) for m in messages(body))
    if ok.tool_call is not None and body.get("tools"):
        out = max(1, len(orjson.dumps(ok.tool_call.arguments)) // 4)
        return Answer(number, (), ok.tool_call, inputs, out, truncated=False)
    text = ok.text if ok.text is not None else last_user_text(body)
    pieces = tuple(PIECE.findall(text)) or ("ok",)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    truncated = isinstance(limit, int) and 0 < limit < len(pieces)
    if truncated:
        pieces = pieces[:limit]
    return Answer(number, pieces, None, inputs, len(pieces), truncated)


def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = body.get("messages")
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(messages(body)):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def text_of(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and "text" in p)
    return ""


def words(content: Any) -> int:
    return len(text_of(content).split())
