"""The client's side of an exchange: its body, read within a limit, and its connection,
watched while an upstream call runs so that a client who leaves cancels the call."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from slicewise.errors import RequestError


async def read_body(http: Request, limit: int) -> bytes:
    declared = http.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(
            f"request body of {declared} bytes is over the limit of {limit}; "
            "send fewer or shorter messages",
            status=413,
        )
    body = await http.body()
    if len(body) > limit:
        raise RequestError(
            f"request body of {len(body)} bytes is over the limit of {limit}", status=413
        )
    return body


async def unless_disconnected(http: Request, call: asyncio.Future[Any]) -> Any:
    """Await ``call``, cancelling it if the client goes away first."""
    watcher = asyncio.ensure_future(_disconnected(http))
    try:
        done, _ = await asyncio.wait({call, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if call not in done:
            call.cancel()
            raise asyncio.CancelledError("client disconnected")
        return call.result()
    finally:
        watcher.cancel()


async def _disconnected(http: Request) -> None:
    while True:
        message = await http.receive()
        if message["type"] == "http.disconnect":
            return
