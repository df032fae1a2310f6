"""Shared HTTP plumbing for the provider adapters.

``Upstream`` is the HTTP side of one provider: one pooled session (HTTP/1.1 keep-alive), its
credentials, and the one place that turns every failure into the ``UpstreamError`` tree::

    error status (3xx, 4xx, 5xx)   UpstreamStatus, with Retry-After; 401/403 name the key's variable
    timeout                        UpstreamTimeout
    unreachable, connection lost   UpstreamConnection (before the first event)
    not JSON, wrong shape          UpstreamProtocol
    stream ends early or breaks    UpstreamProtocol ("stream cut after N events")

Each chat call writes one INFO line: provider, model, status, latency and tokens; never a
prompt, a completion or a key. The key is also scrubbed from any message an upstream echoes.

The client library is aiohttp. It replaced httpx2 for CPU: on the gateway benchmark's loopback
upstream an aiohttp call cost 0.06-0.12 ms of CPU against httpx2's 0.35-0.47 ms (httpx2 goes
through httpcore2 and anyio on every call), the same from 16 to 64 connections. A session
binds to the event loop it is made in, so each ``Upstream`` makes its own at its first call,
inside the running loop, and keeps it until ``aclose``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from aiohttp.http_exceptions import ContentEncodingError

from slicewise.chat import ChatResponse, StreamEnd, StreamEvent, Usage
from slicewise.errors import (
    UpstreamConnection,
    UpstreamError,
    UpstreamProtocol,
    UpstreamStatus,
    UpstreamTimeout,
)
from slicewise.wire import shape
from slicewise.wire.sse import ServerEvent, SSEDecoder

logger = logging.getLogger(__name__)

CONNECTIONS = 512
"""Open connections per provider, in use or idle; a call beyond them waits for one. Idle ones
close after ``KEEPALIVE_SECONDS`` (aiohttp has no separate cap on idle connections)."""
KEEPALIVE_SECONDS = 90.0
DNS_CACHE_SECONDS = 300
CLEANUP_CLOSED = sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1)
"""Whether aiohttp should abort TLS connections whose peer never ends the shutdown: these
Pythons leak them otherwise; later ones do not, and aiohttp warns when asked there."""
MODELS_TIMEOUT = aiohttp.ClientTimeout(total=10.0)
DRAIN_SECONDS = 0.5
"""How long the rest of a stream's body may take after its last event."""
MESSAGE_LIMIT = 500
"""Characters kept of an upstream's error message."""

Body = dict[str, Any]
Parse = Callable[[Body], ChatResponse]
Feed = Callable[[str, bytes], list[StreamEvent]]
"""A wire stream reader: an event's name and data in, our stream events out."""


def new_client() -> aiohttp.ClientSession:
    """A session for one provider, in the running loop: pooled keep-alive connections, no
    cookies, no timeouts of its own (each call sets its own)."""
    connector = aiohttp.TCPConnector(
        limit=CONNECTIONS,
        keepalive_timeout=KEEPALIVE_SECONDS,
        ttl_dns_cache=DNS_CACHE_SECONDS,
        enable_cleanup_closed=CLEANUP_CLOSED,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(),
        raise_for_status=False,
    )


def resolve_key(api_key: str | None, key_env: str | None) -> str | None:
    """The key given, else the one in the environment variable ``key_env``, else none."""
    if api_key is not None:
        return api_key
    return os.environ.get(key_env) if key_env else None


class Upstream:
    """One provider's HTTP calls. ``headers`` carry its credentials; ``secret`` is scrubbed.

    Without a ``client``, the first call makes a session (see ``new_client``) and ``aclose``
    closes it; a given ``client`` is left open.
    """

    def __init__(
        self,
        provider: str,
        headers: Mapping[str, str],
        secret: str | None,
        key_env: str | None,
        client: aiohttp.ClientSession | None = None,
    ) -> None:
        self.provider = provider
        self._headers = {"content-type": "application/json", **headers}
        self._secret = secret
        self._key_env = key_env
        self._client = client
        self._owns_client = client is None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The provider's session, made at the first call."""
        if self._client is None:
            self._client = new_client()
        return self._client

    async def complete(
        self, url: str, body: Body, model: str, timeout: float, parse: Parse
    ) -> ChatResponse:
        """POST ``body`` and ``parse`` the JSON answer; ``timeout`` bounds the whole call."""
        call = _CallLog(self.provider, model)
        try:
            async with asyncio.timeout(timeout):
                content, headers = await self._post(url, orjson.dumps(body), call)
            if call.status >= 300:
                raise self.status_error(call.status, headers, content)
            result = parse(shape.load_object(content, self.provider, "response body"))
            call.usage = result.usage
            return result
        except TimeoutError as exc:
            raise call.failed(UpstreamTimeout(self.provider, f"no answer in {timeout:g}s")) from exc
        except aiohttp.ClientError as exc:
            raise call.failed(self._transport_error(exc, url)) from exc
        except UpstreamError as exc:
            call.failed(exc)
            raise
        except asyncio.CancelledError:
            call.error = "cancelled"
            raise
        finally:
            call.log()

    async def _post(
        self, url: str, content: bytes, call: _CallLog
    ) -> tuple[bytes, Mapping[str, str]]:
        async with self.session.post(
            url, data=content, headers=self._headers, allow_redirects=False
        ) as response:
            call.status = response.status
            return await response.read(), response.headers

    async def stream(
        self, url: str, body: Callable[[], Body], model: str, timeout: float, feed: Feed
    ) -> AsyncIterator[StreamEvent]:
        """POST ``body()`` and yield what ``feed`` makes of each server-sent event.

        Nothing runs before the first ``__anext__``, so every failure before the first event
        raises from it. ``timeout`` bounds each wait for the upstream (connecting, the answer's
        head, each read of its body). The terminal event is yielded once the response is done
        with, so its connection is already back in the pool when the caller stops there.
        """
        content = orjson.dumps(body())
        call = _CallLog(self.provider, model)
        waits = aiohttp.ClientTimeout(connect=timeout, sock_read=timeout)
        try:
            async with self.session.post(
                url, data=content, headers=self._headers, timeout=waits, allow_redirects=False
            ) as response:
                call.status = response.status
                await self._check_stream(response)
                async for ev in _until_end(response, feed, call):
                    yield ev
            if call.end is None:
                how = "the upstream closed it before its last event"
                raise UpstreamProtocol(self.provider, _cut(call.events, how))
            call.usage = call.end.usage
            call.log()
            yield call.end
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise call.failed(self._stream_error(exc, call.events, url, timeout)) from exc
        except UpstreamError as exc:
            call.failed(exc)
            raise
        except (GeneratorExit, asyncio.CancelledError):
            call.error = "cancelled"
            raise
        finally:
            call.log()

    async def list_ids(self, url: str, params: Mapping[str, str] | None = None) -> list[str]:
        """The ``id`` of each entry of ``data`` in the JSON at ``url``; ``[]`` on any failure."""
        try:
            async with self.session.get(
                url,
                headers=self._headers,
                params=params,
                timeout=MODELS_TIMEOUT,
                allow_redirects=False,
            ) as response:
                content = await response.read()
            if response.status >= 300:
                raise self.status_error(response.status, response.headers, content)
            listing = shape.load_object(content, self.provider, "model list")
            entries = shape.array(listing.get("data"), self.provider, "data")
            return [self._entry_id(entry) for entry in entries]
        except (aiohttp.ClientError, TimeoutError, UpstreamError) as exc:
            logger.debug("provider=%s listing models failed: %s", self.provider, exc)
            return []

    def _entry_id(self, entry: Any) -> str:
        return shape.text(shape.obj(entry, self.provider, "data[]").get("id"), self.provider, "id")

    async def aclose(self) -> None:
        """Close the session, if this provider made it."""
        if self._owns_client and self._client is not None:
            await self._client.close()

    def status_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """The error for an HTTP error status, with the upstream's own message."""
        message = self._redact(error_message(body))
        if status in (401, 403):
            message = f"{message}; {self._key_hint()}"
        return UpstreamStatus(self.provider, status, message, retry_after(headers))

    async def _check_stream(self, response: aiohttp.ClientResponse) -> None:
        if response.status >= 300:
            raise self.status_error(response.status, response.headers, await response.read())
        if response.headers.get("content-type", "").startswith("application/json"):
            body = shape.snippet(await response.read())
            raise UpstreamProtocol(
                self.provider, f"answered a stream with JSON, not events: {body}"
            )

    def _stream_error(self, exc: Exception, events: int, url: str, timeout: float) -> UpstreamError:
        """A transport failure during a stream, before or after ``events`` events."""
        after = f" after {events} events" if events else ""
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout(self.provider, f"no data for {timeout:g}s{after}")
        if not events:
            return self._transport_error(exc, url)
        return UpstreamProtocol(self.provider, _cut(events, f"the connection failed ({exc})"))

    def _transport_error(self, exc: Exception, url: str) -> UpstreamError:
        where = url.split("?", 1)[0]
        cause = exc.__cause__
        if isinstance(cause, ContentEncodingError):
            return UpstreamProtocol(self.provider, f"answer could not be decoded: {cause.message}")
        unset = (
            f" ({self._key_env} is not set either)" if self._key_env and not self._secret else ""
        )
        return UpstreamConnection(self.provider, f"cannot reach {where}: {_describe(exc)}{unset}")

    def _key_hint(self) -> str:
        if self._key_env:
            return f"check that the environment variable {self._key_env} holds a valid key"
        if self._secret:
            return "check the api_key configured for this provider"
        return "no key was sent; set key_env (or api_key) for this provider"

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text


async def _until_end(
    response: aiohttp.ClientResponse, feed: Feed, call: _CallLog
) -> AsyncIterator[StreamEvent]:
    """The events before the terminal one, which is kept as ``call.end``; then the rest of
    the body is read, so the connection can serve another call."""
    events = _server_events(response)
    async for event, data in events:
        for ev in feed(event, data):
            if type(ev) is StreamEnd:
                call.end = ev
                await _drain(events)
                return
            call.events += 1
            yield ev


async def _drain(events: AsyncIterator[ServerEvent]) -> None:
    # a server that keeps the body open after its last event loses the connection instead
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in events:
                pass


async def _server_events(response: aiohttp.ClientResponse) -> AsyncIterator[ServerEvent]:
    decoder = SSEDecoder()
    async for chunk in response.content.iter_any():
        for item in decoder.feed(chunk):
            yield item
    for item in decoder.close():
        yield item


def _cut(count: int, how: str) -> str:
    return f"stream cut after {count} events: {how}"


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def error_message(body: bytes) -> str:
    """The message in an error body (OpenAI's, Anthropic's, or a proxy's), shortened."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        obj = None
    found = _message_in(obj)
    if found is None:
        found = body.decode("utf-8", "replace").strip() or "no message in the response body"
    return found if len(found) <= MESSAGE_LIMIT else found[:MESSAGE_LIMIT] + "..."


def _message_in(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    error = obj.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    for candidate in (error, obj.get("message"), obj.get("detail")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, or ``retry-after`` in seconds or as a date."""
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _seconds(value: str | None) -> float | None:
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


class _CallLog:
    """What the one log line of an upstream call says; filled in as the call goes."""

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.started = time.perf_counter()
        self.status = 0
        """The HTTP status; 0 until the answer's head has come."""
        self.usage: Usage | None = None
        self.error: str | None = None
        self.events = 0
        """Stream events passed on so far."""
        self.end: StreamEnd | None = None
        self._logged = False

    def failed(self, error: UpstreamError) -> UpstreamError:
        self.error = type(error).__name__
        return error

    def log(self) -> None:
        """Write the call's line, once."""
        if self._logged:
            return
        self._logged = True
        latency = (time.perf_counter() - self.started) * 1000
        tokens = (self.usage.input_tokens, self.usage.output_tokens) if self.usage else ("-", "-")
        logger.info(
            "upstream call provider=%s model=%s status=%s latency_ms=%.0f "
            "input_tokens=%s output_tokens=%s%s",
            self.provider,
            self.model,
            self.status or "-",
            latency,
            *tokens,
            f" error={self.error}" if self.error else "",
        )
