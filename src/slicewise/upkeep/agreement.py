"""Scoring agreement between a served answer and the reference model's answer to the same request.

``exact`` compares normalised text (case, surrounding space and punctuation, runs of
whitespace ignored); ``json`` compares parsed JSON values (falling back to text when either
side is not JSON); tool calls are compared as (name, parsed arguments) whatever the mode;
``auto`` picks ``json`` when the request asked for a JSON response, else ``exact``. ``judge``
asks a judge model for a 0-10 grade of the served answer against the reference's, with the
route's rubric: a minimal judge, one call, the first number in its reply.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from slicewise.chat import ChatRequest, ChatResponse, Message

SPACE = re.compile(r"\s+")
EDGES = " \t\n.,;:!?\"'`*"
NUMBER = re.compile(r"\d+(?:\.\d+)?")
RUBRIC = (
    "Grade whether the answer says the same as the reference answer: the same facts, the "
    "same final result, the same choice. Wording and length do not matter."
)


def normalised(text: str) -> str:
    return SPACE.sub(" ", text.casefold()).strip(EDGES)


def answer_of(response: ChatResponse) -> Any:
    """What is compared: the tool calls when there are any, else the text."""
    message = response.message
    if message.tool_calls:
        return [(call.name, _json(call.arguments)[1]) for call in message.tool_calls]
    return message.content or ""


def compare(
    mode: str, request: ChatRequest, served: ChatResponse, reference: ChatResponse
) -> float:
    """1.0 when the answers agree, 0.0 when not (``exact`` and ``json``; not ``judge``)."""
    ours, theirs = answer_of(served), answer_of(reference)
    if not isinstance(ours, str) or not isinstance(theirs, str):
        return float(ours == theirs)
    wants_json = request.response_format is not None and request.response_format.kind != "text"
    if mode == "json" or (mode == "auto" and wants_json):
        (left_ok, left), (right_ok, right) = _json(ours), _json(theirs)
        if left_ok and right_ok:
            return float(left == right)
    return float(normalised(ours) == normalised(theirs))


def judge_request(
    model: str, request: ChatRequest, served: ChatResponse, reference: ChatResponse, rubric: str
) -> ChatRequest:
    """The judge's prompt: the question, the reference answer, the answer to grade."""
    question = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    prompt = (
        f"{rubric or RUBRIC}\n\nQuestion:\n{question}\n\nReference answer:\n"
        f"{_text(reference)}\n\nAnswer to grade:\n{_text(served)}\n\n"
        "Reply with one whole number from 0 (disagrees) to 10 (agrees fully) and nothing else."
    )
    return ChatRequest(
        model=model, messages=(Message("user", prompt),), max_tokens=8, temperature=0.0
    )


def judge_score(reply: ChatResponse) -> float | None:
    """The judge's grade as a share in [0, 1]; ``None`` when it gave no number."""
    found = NUMBER.search(reply.message.content or "")
    if found is None:
        return None
    return min(10.0, float(found[0])) / 10


def _json(text: str) -> tuple[bool, Any]:
    """(True, the value) for JSON text, else (False, the text itself)."""
    try:
        return True, orjson.loads(text)
    except orjson.JSONDecodeError:
        return False, text


def _text(response: ChatResponse) -> str:
    answer = answer_of(response)
    return answer if isinstance(answer, str) else orjson.dumps(answer).decode()
