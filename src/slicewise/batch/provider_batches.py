"""The providers' own batch APIs: submit a list of requests, poll, fetch the results.

OpenAI: upload the lines as a file (``POST /files``, purpose ``batch``), create a batch
(``POST /batches``), poll ``GET /batches/{id}`` until ``completed``, read the output and error
files (``GET /files/{id}/content``). Anthropic: ``POST /v1/messages/batches`` with the requests
inline, poll until ``processing_status`` is ``ended``, read ``results_url`` (JSONL). Both answer
within 24 hours at about half the price of the same calls made one by one.

Each client returns results as ``(custom_id, status, body)``: the provider's own response body
for an answered request, its error object otherwise.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from slicewise.chat import ChatRequest, ChatResponse
from slicewise.config import ProviderConfig
from slicewise.errors import ConfigError, UpstreamStatus
from slicewise.wire import anthropic as anthropic_wire
from slicewise.wire import openai as openai_wire

Result = tuple[str, int, dict[str, Any]]


class BatchClient(abc.ABC):
    def __init__(self, name: str, base: str, headers: dict[str, str]) -> None:
        self.name = name
        self.base = base.rstrip("/")
        self.session = aiohttp.ClientSession(headers=headers)

    @abc.abstractmethod
    def line(self, custom_id: str, upstream: str, request: ChatRequest) -> dict[str, Any]:
        """One request as the provider's batch takes it."""

    @abc.abstractmethod
    async def submit(self, lines: list[dict[str, Any]]) -> str:
        """The provider's batch id."""

    @abc.abstractmethod
    async def results(self, batch_id: str) -> list[Result] | None:
        """The results once the batch has ended, ``None`` while it runs."""

    @abc.abstractmethod
    def parse(self, body: dict[str, Any], served: str) -> ChatResponse: ...

    async def aclose(self) -> None:
        await self.session.close()

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        return orjson.loads(await self._raw(method, url, **kwargs))

    async def _raw(self, method: str, url: str, **kwargs: Any) -> bytes:
        async with self.session.request(method, url, **kwargs) as response:
            raw = await response.read()
            if response.status >= 400:
                raise UpstreamStatus(self.name, response.status, raw[:300].decode(errors="replace"))
            return raw


class OpenAIBatches(BatchClient):
    def line(self, custom_id: str, upstream: str, request: ChatRequest) -> dict[str, Any]:
        body = openai_wire.build_request(upstream, request)
        return {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": body,
        }

    async def submit(self, lines: list[dict[str, Any]]) -> str:
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        content = b"".join(orjson.dumps(x) + b"\n" for x in lines)
        form.add_field("file", content, filename="slicewise-batch.jsonl")
        uploaded = await self._json("POST", f"{self.base}/files", data=form)
        made = await self._json(
            "POST",
            f"{self.base}/batches",
            json={
                "input_file_id": uploaded["id"],
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
            },
        )
        return str(made["id"])

    async def results(self, batch_id: str) -> list[Result] | None:
        found = await self._json("GET", f"{self.base}/batches/{batch_id}")
        if found["status"] in ("failed", "expired", "cancelled"):
            raise UpstreamStatus(self.name, 502, f"batch {batch_id} {found['status']}")
        if found["status"] != "completed":
            return None
        out: list[Result] = []
        for key in ("output_file_id", "error_file_id"):
            if found.get(key):
                raw = await self._raw("GET", f"{self.base}/files/{found[key]}/content")
                out += [_openai_result(orjson.loads(x)) for x in _lines(raw)]
        return out

    def parse(self, body: dict[str, Any], served: str) -> ChatResponse:
        return openai_wire.parse_response(body, served)


class AnthropicBatches(BatchClient):
    def line(self, custom_id: str, upstream: str, request: ChatRequest) -> dict[str, Any]:
        return {"custom_id": custom_id, "params": anthropic_wire.build_request(upstream, request)}

    async def submit(self, lines: list[dict[str, Any]]) -> str:
        made = await self._json(
            "POST", f"{self.base}/v1/messages/batches", json={"requests": lines}
        )
        return str(made["id"])

    async def results(self, batch_id: str) -> list[Result] | None:
        found = await self._json("GET", f"{self.base}/v1/messages/batches/{batch_id}")
        if found["processing_status"] != "ended":
            return None
        url = found.get("results_url") or f"{self.base}/v1/messages/batches/{batch_id}/results"
        raw = await self._raw("GET", url)
        return [_anthropic_result(orjson.loads(x)) for x in _lines(raw)]

    def parse(self, body: dict[str, Any], served: str) -> ChatResponse:
        return anthropic_wire.parse_response(body, served)


def client(name: str, config: ProviderConfig, env: Mapping[str, str]) -> BatchClient:
    key = env.get(config.key_env) if config.key_env else None
    if config.kind == "openai":
        headers = {**config.headers, **({"authorization": f"Bearer {key}"} if key else {})}
        return OpenAIBatches(name, config.base_url or "https://api.openai.com/v1", headers)
    if config.kind == "anthropic":
        headers = {"anthropic-version": "2023-06-01", **({"x-api-key": key} if key else {})}
        return AnthropicBatches(name, config.base_url or "https://api.anthropic.com", headers)
    raise ConfigError(f"provider {name!r} ({config.kind}) has no batch API; drop --deferred")


def _openai_result(line: dict[str, Any]) -> Result:
    response = line.get("response") or {}
    status = int(response.get("status_code") or 500)
    body = response.get("body") or line.get("error") or {}
    return str(line.get("custom_id")), status, body


def _anthropic_result(line: dict[str, Any]) -> Result:
    result = line.get("result") or {}
    if result.get("type") == "succeeded":
        return str(line.get("custom_id")), 200, result.get("message") or {}
    return str(line.get("custom_id")), 500, result.get("error") or result


def _lines(raw: bytes) -> list[bytes]:
    return [x for x in raw.splitlines() if x.strip()]
