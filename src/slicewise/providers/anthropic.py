"""Anthropic's Messages API, natively.

``base_url`` is the host without the version path (``https://api.anthropic.com``); calls go to
``{base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version`` headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from slicewise.chat import ChatRequest, ChatResponse, StreamEvent
from slicewise.providers.base import Provider
from slicewise.providers.http import Upstream, resolve_key
from slicewise.wire.anthropic import AnthropicStreamReader, build_request, parse_response

MODELS_PAGE = {"limit": "1000"}


class Anthropic(Provider):
    """A provider speaking Anthropic Messages, with an ``x-api-key``."""

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None = None,
        key_env: str | None = None,
        version: str = "2023-06-01",
        client: aiohttp.ClientSession | None = None,
    ) -> None:
        self.name = name
        self._base = base_url.rstrip("/")
        key = resolve_key(api_key, key_env)
        headers = {"anthropic-version": version, **({"x-api-key": key} if key else {})}
        self._http = Upstream(name, headers, key, key_env, client)

    async def complete(self, model: str, request: ChatRequest, timeout: float) -> ChatResponse:
        body = build_request(model, request)
        served = f"{self.name}/{model}"
        url = f"{self._base}/v1/messages"
        return await self._http.complete(
            url, body, model, timeout, lambda obj: parse_response(obj, served)
        )

    def stream(
        self, model: str, request: ChatRequest, timeout: float
    ) -> AsyncIterator[StreamEvent]:
        reader = AnthropicStreamReader(self.name)
        return self._http.stream(
            f"{self._base}/v1/messages",
            lambda: self._stream_body(model, request),
            model,
            timeout,
            reader.feed,
        )

    async def models(self) -> list[str]:
        return await self._http.list_ids(f"{self._base}/v1/models", MODELS_PAGE)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _stream_body(self, model: str, request: ChatRequest) -> dict[str, Any]:
        return {**build_request(model, request), "stream": True}
