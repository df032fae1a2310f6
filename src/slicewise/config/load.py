"""Reading the configuration: YAML with line numbers, the embedded default, errors with paths.

Every problem becomes one ``ConfigError`` listing ``FILE:LINE: path.to.field: message`` for
each, so ``slicewise config check`` can report them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from slicewise.config.schema import Config, PlacedError
from slicewise.errors import ConfigError

Lines = dict[tuple[str | int, ...], int]


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """The configuration in ``path``; ``None`` gives the embedded default built from ``env``."""
    if path is None:
        from slicewise.config.default import default_config

        return default_config(env)
    return load_with_lines(path)[0]


def load_with_lines(path: str | Path) -> tuple[Config, Lines]:
    """The configuration in ``path`` and the line of each of its paths (for explanations)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from None
    data, lines = _parse(path, text)
    return validate(data, lines, str(path)), lines


def validate(data: Any, lines: Lines, source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines, source)) from None


def _parse(path: Path, text: str) -> tuple[Any, Lines]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{line}: not valid YAML: {problem}") from None
    if node is None:
        return {}, {}
    lines: Lines = {}
    return _build(node, (), lines), lines


def _build(node: yaml.Node, path: tuple[str | int, ...], lines: Lines) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key] = _build(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _describe(exc: ValidationError, lines: Lines, source: str) -> str:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, PlacedError):
            for path, why in cause.problems:
                problems.append(f"{source}{_line(path, lines)}: {_dotted(path)}: {why}")
            continue
        if error["type"] == "extra_forbidden":
            message = "unknown field; check its spelling against the documented fields"
        problems.append(f"{source}{_line(loc, lines)}: {_dotted(loc) or '(top)'}: {message}")
    head = (
        problems[0]
        if len(problems) == 1
        else f"{len(problems)} problems:\n  " + "\n  ".join(problems)
    )
    return head


def place(source: str, loc: tuple[str | int, ...], lines: Lines) -> str:
    """``FILE:LINE: path.to.field`` for a path of the configuration."""
    return f"{source}{_line(loc, lines)}: {_dotted(loc) or '(top)'}"


def _line(loc: tuple[str | int, ...], lines: Lines) -> str:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return f":{lines[loc[:end]]}"
    return ""


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
