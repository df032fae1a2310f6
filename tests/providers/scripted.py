"""What the provider tests share: a request, a key, and providers that are closed afterwards.

The upstream is real: the scripted fake (``tests.fakes.upstream``, the ``fake_upstream``
fixture) for whole behaviours, ``tests.providers.raw`` for bytes the fake never sends.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

from slicewise.chat import ChatRequest, Message, StreamEvent

REQUEST = ChatRequest(model="auto", messages=(Message("user", "What is the secret recipe?"),))
KEY = "sk-test-abcdef0123456789"


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
