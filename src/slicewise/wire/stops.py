"""Why a model stopped, in each protocol's words and in ours (``FinishReason``).

OpenAI's words are ours. Anthropic's map both ways: ``end_turn`` and ``stop_sequence`` are
``stop``, ``max_tokens`` is ``length``, ``tool_use`` is ``tool_calls``, ``refusal`` is
``content_filter``. Going back, ``stop`` becomes ``end_turn``: our value does not say whether a
stop sequence matched, so ``stop_sequence`` is never produced.
"""

from __future__ import annotations

from slicewise.chat import FinishReason

_FROM_OPENAI: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}

_FROM_ANTHROPIC: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

TO_ANTHROPIC: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def from_openai(value: str | None, has_tool_calls: bool) -> FinishReason:
    """Our reason for an OpenAI ``finish_reason``.

    Some OpenAI-compatible servers say ``stop`` after a tool call; a message that holds tool
    calls is taken to have stopped for them. Unknown or missing reasons read as ``stop``.
    """
    if has_tool_calls and value in (None, "stop"):
        return "tool_calls"
    return _FROM_OPENAI.get(value or "stop", "stop")


def from_anthropic(value: str | None) -> FinishReason:
    """Our reason for an Anthropic ``stop_reason``; unknown or missing ones read as ``stop``."""
    return _FROM_ANTHROPIC.get(value or "end_turn", "stop")
