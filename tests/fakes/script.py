"""What the fake upstream does with each request: behaviours, and the queue that hands them out.

A test scripts the next answers, for one model or for any::

    fake.script(status(429, retry_after=0.1), ok("fine"), model="gpt-4o-mini")
    fake.script(cut(after_chunks=2))

Each chat request takes the next behaviour of its model's queue, else of the shared queue, else
``Script.default`` (``ok()``, an echo of the last user message).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ok:
    """Answer; ``text=None`` echoes the last user message. ``tool_call`` is used only when the
    request offers tools, else the answer is text."""

    text: str | None = None
    tool_call: ToolCall | None = None


@dataclass(frozen=True)
class Status:
    """Answer with an error status; ``body=None`` is an error in the endpoint's own shape, a
    ``str`` or ``bytes`` body is sent as is, anything else as JSON."""

    code: int
    retry_after: float | None = None
    body: Any = None


@dataclass(frozen=True)
class Malformed:
    """200 and a body that is not JSON (a stream: one event whose data is not JSON)."""


@dataclass(frozen=True)
class Cut:
    """Send ``after_chunks`` stream events, then close the connection without the terminal one.

    Not streaming: the headers promise the whole body, half of it comes, then the close."""

    after_chunks: int = 1


@dataclass(frozen=True)
class Stall:
    """Send ``after_chunks`` stream events (not streaming: half the body), wait, go on."""

    seconds: float
    after_chunks: int = 1


@dataclass(frozen=True)
class Hang:
    """Never answer, until the client goes away or the server stops (then a 503)."""


@dataclass(frozen=True)
class Delay:
    """Wait, then behave as ``then``."""

    seconds: float
    then: Behaviour = Ok()


Behaviour = Ok | Status | Malformed | Cut | Stall | Hang | Delay


def ok(text: str | None = None, tool_call: ToolCall | None = None) -> Ok:
    return Ok(text, tool_call)


def delay(seconds: float, then: Behaviour | None = None) -> Delay:
    return Delay(seconds, then or Ok())


def status(code: int, retry_after: float | None = None, body: Any = None) -> Status:
    return Status(code, retry_after, body)


def malformed() -> Malformed:
    return Malformed()


def cut(after_chunks: int = 1) -> Cut:
    return Cut(after_chunks)


def stall(seconds: float, after_chunks: int = 1) -> Stall:
    return Stall(seconds, after_chunks)


def hang() -> Hang:
    return Hang()


class Script:
    """Queues of behaviours, one per model plus a shared one."""

    def __init__(self, default: Behaviour | None = None) -> None:
        self.default: Behaviour = default or Ok()
        self._queues: dict[str | None, deque[Behaviour]] = {}

    def add(self, *behaviours: Behaviour, model: str | None = None) -> None:
        self._queues.setdefault(model, deque()).extend(behaviours)

    def next(self, model: str | None) -> Behaviour:
        for key in (model, None):
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        return self.default

    def pending(self, model: str | None = None) -> int:
        """Behaviours not yet used, for ``model`` (or the shared queue)."""
        return len(self._queues.get(model, ()))

    def clear(self) -> None:
        self._queues.clear()
