"""The provider interface: one chat call, streamed or not, to one upstream endpoint.

A provider knows its wire format, base URL and credentials; it knows nothing of routing,
retries or fallbacks (the gateway's dispatcher owns those). It raises ``UpstreamError``
subclasses (see ``slicewise.errors``) and never returns a partial answer as if it were whole.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator

from slicewise.chat import ChatRequest, ChatResponse, StreamEvent


class Provider(abc.ABC):
    name: str
    """The provider's name in the configuration, the ``provider`` of ``provider/model``."""

    @abc.abstractmethod
    async def complete(self, model: str, request: ChatRequest, timeout: float) -> ChatResponse:
        """One non-streaming call of ``model`` (the upstream's own model id).

        ``timeout`` bounds the whole call in seconds.
        """

    @abc.abstractmethod
    def stream(
        self, model: str, request: ChatRequest, timeout: float
    ) -> AsyncIterator[StreamEvent]:
        """A streaming call: deltas, then one ``StreamEnd``.

        ``timeout`` bounds the wait for each event. Failures before the first event raise
        from the first ``__anext__``, so the caller can still fall back to another model.
        """

    async def models(self) -> list[str]:
        """Model ids the upstream lists (``GET /v1/models``), or ``[]`` if it lists none."""
        return []

    async def start(self) -> None:  # noqa: B027 - an optional hook; most need nothing
        """Prepare for calls (load a model, warm a pool); called once when the gateway starts."""

    async def aclose(self) -> None:  # noqa: B027 - an optional hook; most need nothing
        """Release connections."""
