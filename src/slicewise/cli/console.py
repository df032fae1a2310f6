"""Shared command-line output: a console for people, JSON for machines, progress on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console

# wide enough for the eval table when output goes to a file or a pipe
err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 140)


def print_json(value: Any) -> None:
    sys.stdout.write(
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n"
    )


@contextmanager
def status(enabled: bool = True) -> Iterator[Any]:
    """A callable that shows the current step on stderr (silent when ``enabled`` is False)."""
    if not enabled or not err.is_terminal:
        yield lambda message: None
        return
    with err.status("starting") as spinner:
        yield lambda message: spinner.update(message)


def share(value: float | None) -> str:
    return "never" if value is None else f"{100 * value:.1f}%"
