"""Anthropic message bodies and stream events, as the fake upstream sends them."""

from __future__ import annotations

from typing import Any

from tests.fakes.answer import Answer

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}

Event = tuple[str, dict[str, Any]]


def message(model: str, answer: Answer) -> dict[str, Any]:
    return {
        **_head(model, answer),
        "content": [_block(answer, whole=True)],
        "stop_reason": stop_reason(answer),
        "stop_sequence": None,
        "usage": usage(answer),
    }


def events(model: str, answer: Answer) -> list[Event]:
    """Every event of a streamed answer, ``message_stop`` last, with one ``ping`` as the API
    sends (clients must skip it)."""
    start = {
        **_head(model, answer),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": 1},
    }
    out: list[Event] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": _block(answer, whole=False),
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    out += [
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
        for d in _deltas(answer)
    ]
    out += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(answer), "stop_sequence": None},
                "usage": {"output_tokens": answer.output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return out


def usage(answer: Answer) -> dict[str, int]:
    return {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens}


def stop_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_use"
    return "max_tokens" if answer.truncated else "end_turn"


def error(code: int, message: str) -> dict[str, Any]:
    kind = ERROR_TYPES.get(code, "api_error" if code >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def models(ids: list[str]) -> dict[str, Any]:
    data = [
        {"id": i, "type": "model", "display_name": i, "created_at": "2025-01-01T00:00:00Z"}
        for i in ids
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
    }


def _block(answer: Answer, whole: bool) -> dict[str, Any]:
    call = answer.tool_call
    if call is None:
        return {"type": "text", "text": answer.text if whole else ""}
    return {
        "type": "tool_use",
        "id": f"toolu_fake{answer.number}",
        "name": call.name,
        "input": call.arguments if whole else {},
    }


def _deltas(answer: Answer) -> list[dict[str, Any]]:
    if answer.tool_call is None:
        return [{"type": "text_delta", "text": piece} for piece in answer.pieces]
    return [
        {"type": "input_json_delta", "partial_json": piece} for piece in answer.argument_pieces()
    ]


def _head(model: str, answer: Answer) -> dict[str, Any]:
    return {
        "id": f"msg_fake{answer.number}",
        "type": "message",
        "role": "assistant",
        "model": model,
    }
