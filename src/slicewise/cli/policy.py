"""``slicewise policy test``: what the policies would do with each prompt of a file."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from slicewise.chat import ChatRequest, Message
from slicewise.cli import console
from slicewise.config import Config, load_config
from slicewise.errors import DataError, RequestError
from slicewise.policy.config import ModelAttributes, PoliciesConfig
from slicewise.policy.decision import Decision
from slicewise.policy.rules import Policies, from_config

ROLES = ("system", "user", "assistant", "tool")


def add_parser(commands: Any) -> None:
    p = commands.add_parser("policy", help="try the policies on prompts")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    test = actions.add_parser(
        "test",
        help="show what the policies would do with each prompt of a file",
        description="Read JSONL lines with id and either text or messages (and, optionally, "
        "data_class as a client would declare it); show each prompt's data classes, "
        "detections by kind, injection score, whether it is flagged, and the action. Without "
        "--config, or with one that has no policies, the default classification applies and "
        "no rule: classes and detections only.",
    )
    test.add_argument("file", type=Path, metavar="FILE", help="JSONL: id, and text or messages")
    test.add_argument("--config", metavar="CFG", help="YAML configuration with policies")
    test.add_argument("--json", action="store_true", help="one JSON object per input line")
    test.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    policies = _policies(load_config(args.config) if args.config else None)
    rows = [(key, _decide(policies, args.file, n, request, declared))
            for n, key, request, declared in read(args.file)]  # fmt: skip
    if args.json:
        for key, decision in rows:
            console.out.file.write(orjson.dumps(summary(key, decision)).decode() + "\n")
        return 0
    console.out.print(_table(rows))
    return 0


def summary(key: Any, decision: Decision) -> dict[str, Any]:
    """One line of ``--json``: exactly the fields the README documents."""
    return {
        "id": key,
        "data_classes": list(decision.classes),
        "detections": dict(decision.detections),
        "injection": round(decision.injection or 0.0, 4),
        "flagged": decision.flagged,
        "action": decision.action,
    }


def read(path: Path) -> Iterator[tuple[int, Any, ChatRequest, str | None]]:
    """(line number, id, request, declared class) per non-blank line; ``DataError`` at the
    first wrong one."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise DataError(path, None, None, f"cannot read: {exc.strerror}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DataError(path, n, None, f"not a JSON object: {exc}") from None
        if not isinstance(obj, dict):
            raise DataError(path, n, None, 'not a JSON object; write {"id": ..., "text": ...}')
        request = ChatRequest("test", _messages(path, n, obj))
        yield n, _id(path, n, obj), request, _declared(path, n, obj)


def _id(path: Path, n: int, obj: dict[str, Any]) -> Any:
    key = obj.get("id")
    if not isinstance(key, str | int) or isinstance(key, bool):
        raise DataError(path, n, "id", "missing, or not a string or an integer")
    return key


def _messages(path: Path, n: int, obj: dict[str, Any]) -> tuple[Message, ...]:
    text, messages = obj.get("text"), obj.get("messages")
    if (text is None) == (messages is None):
        raise DataError(path, n, "text", "give either text or messages, not both or neither")
    if text is not None:
        if not isinstance(text, str):
            raise DataError(path, n, "text", "must be a string")
        return (Message("user", text),)
    if not isinstance(messages, list) or not messages:
        raise DataError(path, n, "messages", "must be a non-empty list of {role, content}")
    return tuple(_message(path, n, i, m) for i, m in enumerate(messages))


def _message(path: Path, n: int, i: int, obj: Any) -> Message:
    where = f"messages[{i}]"
    if not isinstance(obj, dict):
        raise DataError(path, n, where, "must be an object with role and content")
    role, content = obj.get("role"), obj.get("content")
    if role not in ROLES:
        raise DataError(path, n, f"{where}.role", f"must be one of {', '.join(ROLES)}")
    if isinstance(content, list):  # content parts: their text only
        content = "\n".join(
            str(p.get("text", p.get("content", ""))) for p in content if isinstance(p, dict)
        )
    if content is not None and not isinstance(content, str):
        raise DataError(path, n, f"{where}.content", "must be a string or a list of parts")
    return Message(role, content)


def _declared(path: Path, n: int, obj: dict[str, Any]) -> str | None:
    value = obj.get("data_class")
    if value is not None and not isinstance(value, str):
        raise DataError(path, n, "data_class", "must be a string naming a class")
    return value


def _decide(
    policies: Policies, path: Path, n: int, request: ChatRequest, declared: str | None
) -> Decision:
    try:
        checked = policies.declared(declared, {})
    except RequestError as exc:
        raise DataError(path, n, "data_class", exc.message) from None
    decision = policies.apply(request, checked)[1]
    if decision.injection is None:  # injection: off in the configuration; still show the score
        texts = [m.content for m in request.messages if m.content and m.role in ("user", "tool")]
        score = max((policies.scorer.score(t) for t in texts), default=0.0)
        decision = replace(decision, injection=score)
    return decision


def _policies(config: Config | None) -> Policies:
    built = from_config(config) if config is not None else None
    if built is not None:
        return built
    return Policies(PoliciesConfig(), lambda model: ModelAttributes())


def _table(rows: list[tuple[Any, Decision]]) -> Table:
    table = Table(title=f"{len(rows)} prompts", title_justify="left")
    for name in ("id", "class", "detections", "injection", "flagged", "action", "rules"):
        table.add_column(name, justify="right" if name == "injection" else "left")
    for key, d in rows:
        found = ", ".join(f"{k} {n}" for k, n in sorted(d.detections.items())) or "-"
        table.add_row(
            str(key),
            d.data_class,
            found,
            f"{d.injection or 0.0:.2f}",
            "yes" if d.flagged else "no",
            d.action,
            ", ".join(d.rules) or "-",
        )
    return table
