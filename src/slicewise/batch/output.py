"""Output and failure lines, in the shape of OpenAI's batch output files, plus ours.

An answered request::

    {"id": "batch_req_...", "custom_id": "...",
     "response": {"status_code": 200, "request_id": "...", "body": {chat completion}},
     "error": null,
     "slicewise": {"model": "openai/gpt-4o-mini", "route": "auto", "cost_usd": "0.000123",
                   "baseline_model": "...", "baseline_cost_usd": "...", "fallbacks": [...]}}

A failure has ``response`` with the error status and body when an upstream answered, else
``null``, and ``error`` ``{"code", "message"}``; ``slicewise.line`` is its input line. Costs are
exact decimal strings (``null`` when a price is unknown, never zero).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from slicewise.errors import SlicewiseError
from slicewise.gateway import errors as error_table
from slicewise.gateway.plan import Plan
from slicewise.gateway.protocols import OPENAI
from slicewise.ledger import Transaction

Line = dict[str, Any]


def failures_path(output: Path) -> Path:
    """``OUTPUT.failures.jsonl`` beside ``OUTPUT.jsonl``."""
    stem = output.name.removesuffix(".jsonl")
    return output.with_name(f"{stem}.failures.jsonl")


def answered(custom_id: str, body: bytes, decided: Plan, tx: Transaction) -> Line:
    return {
        "id": "batch_req_" + os.urandom(12).hex(),
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": tx.request_id, "body": orjson.loads(body)},
        "error": None,
        "slicewise": {
            "model": tx.model,
            "route": decided.route,
            "router": decided.router,
            "cost_usd": _money(tx.cost_usd),
            "baseline_model": tx.baseline_model,
            "baseline_cost_usd": _money(tx.baseline_cost_usd),
            "fallbacks": list(tx.fallbacks),
        },
    }


def failed(custom_id: str | None, line: int, error: SlicewiseError, request_id: str) -> Line:
    status = error_table.status_of(error)
    message = getattr(error, "message", None) or str(error)
    body = OPENAI.error_body(
        message,
        error_table.error_type("openai", status),
        error_table.param_of(error),
        error_table.code_of(error),
    )
    return {
        "id": "batch_req_" + os.urandom(12).hex(),
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": request_id, "body": orjson.loads(body)},
        "error": {"code": error_table.code_of(error) or type(error).__name__, "message": message},
        "slicewise": {"line": line},
    }


def unanswered(custom_id: str | None, line: int, code: str, message: str) -> Line:
    """A failure no upstream answered: a wrong input line, or a call in doubt."""
    return {
        "id": "batch_req_" + os.urandom(12).hex(),
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message},
        "slicewise": {"line": line},
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
