"""Reading a batch input file: OpenAI batch request lines, checked one by one.

Each line is ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``, the
format OpenAI's Batch API takes, so an existing batch file runs unchanged. The ``body`` is a
Chat Completions request; its ``model`` may be a route (``auto``) or a ``provider/model``, and
``--route`` replaces it for every line.

With ``policies:`` in the configuration, each request is judged as the gateway judges it: its
data class from ``metadata.data_class`` or detection, redaction applied before it is planned,
and a blocked request becomes an ``Invalid`` naming the policy (no model ever sees it).
The answer gets the redacted values back where the policy restores (``local.Caller``); a
``--deferred`` answer, collected from a provider batch without its item, keeps placeholders.

A wrong line does not stop the run: it becomes an ``Invalid`` (its line number, the field and
the problem), which the run prints as ``FILE:LINE: field: problem`` and writes to the failures
file. A repeated ``custom_id`` is wrong on every line after its first one. The file is read
lazily, one line at a time; only the ``custom_id``s seen are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from slicewise.chat import ChatRequest
from slicewise.errors import RequestError
from slicewise.policy.decision import Decision
from slicewise.policy.rules import Policies
from slicewise.wire.openai import parse_request

URL = "/v1/chat/completions"


@dataclass(frozen=True)
class Item:
    """One valid request line."""

    line: int
    custom_id: str
    request: ChatRequest
    """As it may leave: redacted where a policy says so."""
    policy: Decision | None = None


@dataclass(frozen=True)
class Invalid:
    """One line that cannot run, and why."""

    line: int
    custom_id: str | None
    field: str
    problem: str

    def where(self, path: Path | str) -> str:
        return f"{path}:{self.line}: {self.field}: {self.problem}"


def read(
    path: Path, route: str | None = None, policies: Policies | None = None
) -> Iterator[Item | Invalid]:
    """Every non-blank line of ``path``, checked; ``route`` replaces each body's model."""
    seen: dict[str, int] = {}
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            if raw.strip():
                found = _checked(number, raw, route, seen)
                yield found if policies is None else _policed(found, policies)


def _policed(found: Item | Invalid, policies: Policies) -> Item | Invalid:
    if isinstance(found, Invalid):
        return found
    try:
        declared = policies.declared(None, found.request.metadata)
        request, decision = policies.apply(found.request, declared)
        if decision.blocked_by is not None:
            raise decision.refusal()
    except RequestError as exc:
        field = f"body.{exc.param}" if exc.param else "body"
        return Invalid(found.line, found.custom_id, field, exc.message)
    return Item(found.line, found.custom_id, request, decision)


def _checked(number: int, raw: bytes, route: str | None, seen: dict[str, int]) -> Item | Invalid:
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Invalid(number, None, "line", f"not JSON ({exc.msg})")
    if not isinstance(line, dict):
        return Invalid(number, None, "line", "must be a JSON object with custom_id and body")
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return Invalid(number, None, "custom_id", "must be a non-empty string")
    problem = _envelope(line)
    if problem is not None:
        return Invalid(number, custom_id, *problem)
    first = seen.setdefault(custom_id, number)
    if first != number:
        return Invalid(number, custom_id, "custom_id", f"{custom_id!r} repeats line {first}")
    return _parsed(number, custom_id, line["body"], route)


def _envelope(line: dict[str, Any]) -> tuple[str, str] | None:
    method = line.get("method", "POST")
    if method != "POST":
        return "method", f"{method!r} is not allowed; batch lines are POST"
    url = line.get("url", URL)
    if url != URL:
        return "url", f"{url!r} is not supported; use {URL}"
    if not isinstance(line.get("body"), dict):
        return "body", "must be a Chat Completions request object"
    return None


def _parsed(number: int, custom_id: str, body: dict[str, Any], route: str | None) -> Item | Invalid:
    if route is not None:
        body = {**body, "model": route}
    if body.get("stream"):
        return Invalid(number, custom_id, "body.stream", "must be false in a batch")
    try:
        request = parse_request(orjson.dumps(body))
    except RequestError as exc:
        field = f"body.{exc.param}" if exc.param else "body"
        return Invalid(number, custom_id, field, exc.message)
    return Item(number, custom_id, request)
