"""OpenAI chat completion bodies and stream chunks, as the fake upstream sends them."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.answer import Answer

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}


def completion(model: str, answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text or None, "refusal": None}
    if answer.tool_call is not None:
        message["tool_calls"] = [
            {
                "id": _call_id(answer),
                "type": "function",
                "function": {"name": answer.tool_call.name, "arguments": answer.arguments},
            }
        ]
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": finish_reason(answer),
    }
    return {**_head(model, answer, "chat.completion"), "choices": [choice], "usage": usage(answer)}


def chunks(model: str, answer: Answer, include_usage: bool) -> list[dict[str, Any]]:
    """Every chunk of a streamed answer, without the closing ``[DONE]``."""
    head = _head(model, answer, "chat.completion.chunk")
    if include_usage:
        head["usage"] = None
    deltas = _tool_deltas(answer) if answer.tool_call is not None else _text_deltas(answer)
    out = [_chunk(head, delta, None) for delta in deltas]
    out.append(_chunk(head, {}, finish_reason(answer)))
    if include_usage:
        out.append({**head, "choices": [], "usage": usage(answer)})
    return out


def usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
    }


def finish_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_calls"
    return "length" if answer.truncated else "stop"


def error(code: int, message: str) -> dict[str, Any]:
    kind = ERROR_TYPES.get(code, "server_error" if code >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def models(ids: list[str]) -> dict[str, Any]:
    data = [{"id": i, "object": "model", "created": 0, "owned_by": "fake"} for i in ids]
    return {"object": "list", "data": data}


def _text_deltas(answer: Answer) -> list[dict[str, Any]]:
    first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
    return [first, *({"content": piece} for piece in answer.pieces)]


def _tool_deltas(answer: Answer) -> list[dict[str, Any]]:
    assert answer.tool_call is not None
    opening = {
        "index": 0,
        "id": _call_id(answer),
        "type": "function",
        "function": {"name": answer.tool_call.name, "arguments": ""},
    }
    first: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [opening]}
    rest = [
        {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        for piece in answer.argument_pieces()
    ]
    return [first, *rest]


def _chunk(head: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        **head,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _head(model: str, answer: Answer, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake{answer.number}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fake",
    }


def _call_id(answer: Answer) -> str:
    return f"call_fake{answer.number}"
