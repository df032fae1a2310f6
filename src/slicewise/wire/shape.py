"""Readers for what upstreams answer; anything off its protocol raises ``UpstreamProtocol``.

The upstream side trusts nothing: a missing or mistyped field is the provider's fault, named
by its path so an operator can see what the endpoint sent.
"""

from __future__ import annotations

from typing import Any, NoReturn

import orjson

from slicewise.errors import UpstreamProtocol

Obj = dict[str, Any]


def provider_of(served: str) -> str:
    """The provider part of a ``provider/model`` name."""
    return served.split("/", 1)[0]


def bad(provider: str, where: str, problem: str) -> NoReturn:
    raise UpstreamProtocol(provider, f"{where}: {problem}")


def load_object(data: bytes, provider: str, what: str) -> Obj:
    """``data`` as a JSON object; ``what`` names it in the error (``response body``)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        bad(provider, what, f"not JSON: {snippet(data)}")
    return obj(value, provider, what)


def snippet(data: bytes, limit: int = 200) -> str:
    """The start of ``data`` as text, for an error message."""
    text = data[:limit].decode("utf-8", "replace").strip()
    return repr(text + ("..." if len(data) > limit else ""))


def obj(value: Any, provider: str, where: str) -> Obj:
    if not isinstance(value, dict):
        bad(provider, where, f"expected an object, got {type(value).__name__}")
    return value


def array(value: Any, provider: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        bad(provider, where, f"expected an array, got {type(value).__name__}")
    return value


def text(value: Any, provider: str, where: str) -> str:
    if not isinstance(value, str):
        bad(provider, where, f"expected a string, got {type(value).__name__}")
    return value


def opt_text(value: Any, provider: str, where: str) -> str | None:
    return None if value is None else text(value, provider, where)


def count(value: Any, provider: str, where: str) -> int:
    """A token count: a non-negative integer (``null`` reads as 0)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        bad(provider, where, f"expected a token count, got {value!r}")
    return value
