"""Finding a request's key and what it may do: 401 without a live key, 403 outside its grant.

Keys arrive as ``Authorization: Bearer KEY`` (OpenAI SDKs) or ``x-api-key: KEY`` (Anthropic
SDKs). Lookups are kept for ``cache_seconds`` by the secret's hash, unknown keys included, so the
hot path costs a dictionary read; a changed limit takes effect within that time. Revocations are
faster: ``watch`` polls the keys table's newest revocation time (one small query every
``revocation_seconds``) and empties the cache when it moves, so a key revoked by any instance
or by ``slicewise keys revoke`` stops working everywhere within that interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from slicewise.errors import RequestError
from slicewise.tenancy.budget import Principal
from slicewise.tenancy.keys import SECRET_PREFIX, digest, lookup, newest_revocation

logger = logging.getLogger(__name__)

MOST_CACHED = 10_000
"""Cached lookups before the cache is emptied (bounds what random keys can make it hold)."""
HOW = (
    "send a slicewise API key as 'Authorization: Bearer sk-sw-...' or 'x-api-key: sk-sw-...' "
    "(`slicewise keys create` makes one)"
)


class Authenticator:
    def __init__(self, engine: Engine, cache_seconds: float):
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        self._watcher: asyncio.Task[None] | None = None

    def watch(self, every: float) -> None:
        """Forget every cached lookup whenever a key is revoked (checked each ``every`` s)."""
        self._watcher = asyncio.create_task(self._watch(every))

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self, every: float) -> None:
        seen = await asyncio.to_thread(newest_revocation, self.engine)
        while True:
            await asyncio.sleep(every)
            try:
                latest = await asyncio.to_thread(newest_revocation, self.engine)
            except SQLAlchemyError as exc:  # the database is away; the cache's TTL still holds
                logger.warning("auth: could not check for revoked keys: %s", type(exc).__name__)
                continue
            if latest != seen:
                self._cache.clear()
                seen = latest

    async def identify(self, headers: Mapping[str, str]) -> Principal:
        """The principal of the request's key; ``RequestError`` 401 if it has none alive."""
        secret = _secret(headers)
        if secret is None:
            raise RequestError(f"no API key; {HOW}", status=401, code="missing_api_key")
        found = await self._lookup(secret)
        if found is None:
            raise RequestError(
                f"the API key {_shown(secret)} is not valid or was revoked; {HOW}",
                status=401,
                code="invalid_api_key",
            )
        return found

    async def _lookup(self, secret: str) -> Principal | None:
        hashed, now = digest(secret), time.monotonic()
        cached = self._cache.get(hashed)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = await asyncio.to_thread(lookup, self.engine, secret)
        principal = None if found is None else Principal(*found)
        if len(self._cache) >= MOST_CACHED:
            self._cache.clear()
        self._cache[hashed] = (principal, now + self.cache_seconds)
        return principal


def authorize(principal: Principal, asked: str, route: bool) -> None:
    """``RequestError`` 403 unless the key may use route (or model) ``asked``.

    A key with neither a route nor a model list may use everything; a key with either may use
    only what its lists name (a key limited to models cannot use a route, which could pick
    another model).
    """
    key = principal.key
    if not key.routes and not key.models:
        return
    if asked in (key.routes if route else key.models):
        return
    kind = "route" if route else "model"
    raise RequestError(
        f"key {key.id} may not use {kind} {asked!r}; it may use routes: "
        f"{', '.join(key.routes) or 'none'}; models: {', '.join(key.models) or 'none'}",
        param="model",
        status=403,
        code="not_allowed",
    )


def _secret(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "").strip() or None


def _shown(secret: str) -> str:
    """Enough of a key for its owner to recognise it, never the secret."""
    return f"'{secret[:10]}...'" if secret.startswith(SECRET_PREFIX) else "sent"
