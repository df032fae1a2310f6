"""The official SDKs wired to canned answers, so tests can check what they parse and send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2
import openai
import orjson


@dataclass
class Canned:
    """Answers every request with ``body`` and keeps the JSON bodies the SDK sent."""

    body: bytes = b"{}"
    status: int = 200
    stream: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(orjson.loads(request.content))
        kind = "text/event-stream" if self.stream else "application/json"
        return httpx2.Response(self.status, headers={"content-type": kind}, content=self.body)

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))


def openai_client(canned: Canned) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://gateway.test/v1",
        api_key="test",
        http_client=canned.client(),
        max_retries=0,
    )


def anthropic_client(canned: Canned) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url="http://gateway.test", api_key="test", http_client=canned.client(), max_retries=0
    )
