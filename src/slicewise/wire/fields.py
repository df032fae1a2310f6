"""Strict readers for client request bodies, shared by both protocols.

Each reader takes the object that holds a field, the field's key and the ``param`` path of the
object (``""`` at the top level, ``messages[2]`` inside a list), and raises ``RequestError``
naming the full path and what is allowed. A JSON ``null`` counts as an absent field.
"""

from __future__ import annotations

from typing import Any, NoReturn

import orjson

from slicewise.chat import Tool, ToolChoice
from slicewise.errors import RequestError

Obj = dict[str, Any]

PART_SEPARATOR = "\n"
"""What joins the text parts of one message when a format allows several."""

_KINDS = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def fail(param: str, problem: str) -> NoReturn:
    raise RequestError(f"{param}: {problem}", param=param)


def kind(value: Any) -> str:
    """How a developer would name the JSON type of ``value``."""
    return _KINDS.get(type(value), type(value).__name__)


def at(param: str, key: str | int) -> str:
    """The path of ``key`` inside the object or array at ``param``."""
    if isinstance(key, int):
        return f"{param}[{key}]"
    return f"{param}.{key}" if param else key


def load_body(body: bytes) -> Obj:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        message = f"the request body is not valid JSON ({exc}); send one JSON object"
        raise RequestError(message) from None
    if not isinstance(value, dict):
        raise RequestError(f"the request body is {kind(value)}; send one JSON object")
    return value


def expect_object(value: Any, param: str) -> Obj:
    if not isinstance(value, dict):
        fail(param, f"expected an object, got {kind(value)}")
    return value


def expect_str(value: Any, param: str) -> str:
    if not isinstance(value, str):
        fail(param, f"expected a string, got {kind(value)}")
    return value


def opt_str(obj: Obj, key: str, param: str) -> str | None:
    value = obj.get(key)
    return None if value is None else expect_str(value, at(param, key))


def req_str(obj: Obj, key: str, param: str, hint: str) -> str:
    """A required, non-empty string; ``hint`` says what to send instead."""
    value = opt_str(obj, key, param)
    if not value:
        fail(at(param, key), f"{'missing' if value is None else 'empty'}; {hint}")
    return value


def opt_bool(obj: Obj, key: str, param: str) -> bool | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        fail(at(param, key), f"expected true or false, got {kind(value)}")
    return value


def opt_int(obj: Obj, key: str, param: str, minimum: int) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        fail(at(param, key), f"expected an integer, got {kind(value)}")
    if value < minimum:
        fail(at(param, key), f"{value} is too small; use an integer of at least {minimum}")
    return value


def opt_number(obj: Obj, key: str, param: str, low: float, high: float) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(at(param, key), f"expected a number, got {kind(value)}")
    if not low <= value <= high:
        fail(at(param, key), f"{value} is out of range; use a number from {low:g} to {high:g}")
    return float(value)


def opt_list(obj: Obj, key: str, param: str) -> list[Any] | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, list):
        fail(at(param, key), f"expected an array, got {kind(value)}")
    return value


def req_object(obj: Obj, key: str, param: str, hint: str) -> Obj:
    """A required object; ``hint`` says what to send."""
    value = obj.get(key)
    if value is None:
        fail(at(param, key), f"missing; {hint}")
    return expect_object(value, at(param, key))


def one_of(value: Any, param: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``; otherwise an error listing them."""
    if value in allowed:
        return str(value)
    listed = ", ".join(allowed)
    if value is None:
        fail(param, f"missing; use one of {listed}")
    shown = repr(value) if isinstance(value, str) else kind(value)
    fail(param, f"{shown} is not allowed; use one of {listed}")


def str_list(value: Any, param: str) -> tuple[str, ...]:
    """A string or an array of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        fail(param, f"expected a string or an array of strings, got {kind(value)}")
    return tuple(expect_str(item, at(param, i)) for i, item in enumerate(value))


def str_dict(value: Any, param: str) -> dict[str, str]:
    """An object whose values are all strings."""
    obj = expect_object(value, param)
    for key, item in obj.items():
        expect_str(item, at(param, key))
    return obj


def reject(obj: Obj, key: str, why: str) -> None:
    """Refuse a feature this gateway does not support, if the client asked for it."""
    value = obj.get(key)
    if value is not None and value is not False:
        fail(key, f"not supported: {why}")


CHOICE_WORDS = ("auto", "none", "required")


def named_tool(name: str, tools: tuple[Tool, ...], param: str) -> ToolChoice:
    """A tool the client forces by name; it must be one of ``tools``."""
    names = [tool.name for tool in tools]
    if name not in names:
        allowed = f"use one of {', '.join(names)}" if names else "send it in tools first"
        fail(param, f"{name!r} is not one of the tools; {allowed}")
    if name in CHOICE_WORDS:
        fail(param, f"a tool named {name!r} cannot be forced by name here; rename the tool")
    return name
