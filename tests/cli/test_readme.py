"""Every `slicewise ...` command shown in the README parses, so the README cannot drift."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from slicewise.cli.main import parser

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands() -> list[str]:
    """``slicewise ...`` lines of the README's shell blocks (``bash``, ``sh``, ``console``)."""
    commands, shell, fenced = [], False, False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
            shell = fenced and line[3:].strip() in ("bash", "sh", "console")
            continue
        if not shell:
            continue
        for part in re.split(r"&&|\|", line.split(" #")[0]):
            part = part.strip().removeprefix("$ ")
            if part.startswith("slicewise "):
                commands.append(part)
    return commands


def test_readme_shows_commands() -> None:
    assert len(readme_commands()) >= 5


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_parses(command: str) -> None:
    argv = shlex.split(command)[1:]
    if argv in (["--help"], ["--version"]):
        return
    parser().parse_args(argv)
