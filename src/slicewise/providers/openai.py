"""Any OpenAI-compatible endpoint: OpenAI, vLLM, llama.cpp server, Ollama, Groq, Together,
OpenRouter, Mistral, DeepSeek, Gemini's compatible endpoint.

``base_url`` ends where ``/chat/completions`` begins, as in ``OPENAI_BASE_URL``
(``https://api.openai.com/v1``, ``http://localhost:8000/v1``). Streams ask for usage
(``stream_options.include_usage``) so every call can be costed; servers that ignore it end
their streams without usage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from slicewise.chat import ChatRequest, ChatResponse, StreamEvent
from slicewise.providers.base import Provider
from slicewise.providers.http import Upstream, resolve_key
from slicewise.wire.openai import OpenAIStreamReader, TokenField, build_request, parse_response


class OpenAICompatible(Provider):
    """A provider speaking OpenAI Chat Completions, with a Bearer key.

    ``token_field`` names the token limit upstream: ``max_tokens`` (what most servers know) or
    ``max_completion_tokens`` (what OpenAI's reasoning models require; OpenAI takes it for
    every model).
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None = None,
        key_env: str | None = None,
        headers: Mapping[str, str] | None = None,
        client: aiohttp.ClientSession | None = None,
        *,
        token_field: TokenField = "max_tokens",
    ) -> None:
        self.name = name
        self._base = base_url.rstrip("/")
        self._token_field: TokenField = token_field
        key = resolve_key(api_key, key_env)
        auth = {"authorization": f"Bearer {key}"} if key else {}
        self._http = Upstream(name, {**(headers or {}), **auth}, key, key_env, client)

    async def complete(self, model: str, request: ChatRequest, timeout: float) -> ChatResponse:
        body = build_request(model, request, token_field=self._token_field)
        served = f"{self.name}/{model}"
        url = f"{self._base}/chat/completions"
        return await self._http.complete(
            url, body, model, timeout, lambda obj: parse_response(obj, served)
        )

    def stream(
        self, model: str, request: ChatRequest, timeout: float
    ) -> AsyncIterator[StreamEvent]:
        reader = OpenAIStreamReader(self.name)
        return self._http.stream(
            f"{self._base}/chat/completions",
            lambda: self._stream_body(model, request),
            model,
            timeout,
            lambda _event, data: reader.feed(data),
        )

    async def models(self) -> list[str]:
        return await self._http.list_ids(f"{self._base}/models")

    async def aclose(self) -> None:
        await self._http.aclose()

    def _stream_body(self, model: str, request: ChatRequest) -> dict[str, Any]:
        body = build_request(model, request, token_field=self._token_field)
        return {**body, "stream": True, "stream_options": {"include_usage": True}}
