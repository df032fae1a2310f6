"""The canonical chat exchange every part of the gateway speaks.

Wire formats (``slicewise.wire.openai``, ``slicewise.wire.anthropic``) translate to and from
these values; providers take a ``ChatRequest`` and return a ``ChatResponse`` or a stream of
``StreamEvent``. Keeping one shape in the middle is what lets an OpenAI client reach an
Anthropic model and the reverse.

System prompts are ``Message(role="system")`` turns at the start of ``messages``; an adapter
whose upstream wants them elsewhere (Anthropic's top-level ``system``) moves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    """The arguments as a JSON text, exactly as the model produced them."""


@dataclass(frozen=True)
class Message:
    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    """For ``role="tool"``: the id of the call this message answers."""
    name: str | None = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    """JSON schema of the arguments."""


ToolChoice = Literal["auto", "none", "required"] | str
"""``auto``, ``none``, ``required``, or the name of the one tool the model must call."""


@dataclass(frozen=True)
class ResponseFormat:
    kind: Literal["text", "json_object", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str | None = None


@dataclass(frozen=True)
class ChatRequest:
    model: str
    """As the client asked: a route name (``auto``) or ``provider/model``."""
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    stream: bool = False
    include_usage: bool = False
    """OpenAI ``stream_options.include_usage``: send a final chunk with usage."""
    user: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class ChatResponse:
    id: str
    model: str
    """The ``provider/model`` that served the request."""
    message: Message
    finish_reason: FinishReason
    usage: Usage | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    index: int
    id: str | None = None
    """Set on the first fragment of a call."""
    name: str | None = None
    arguments: str = ""
    """A fragment of the arguments' JSON text."""


@dataclass(frozen=True)
class StreamEnd:
    finish_reason: FinishReason
    usage: Usage | None = None


StreamEvent = TextDelta | ToolCallDelta | StreamEnd
"""What a streaming provider yields: deltas, then exactly one ``StreamEnd`` on success."""


async def aclose(events: Any) -> None:
    """Close a stream of events if it can be closed (an async generator can; a list cannot)."""
    closer = getattr(events, "aclose", None)
    if closer is not None:
        await closer()
