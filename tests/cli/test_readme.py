"""Every `slicewise ...` command shown in the README parses, so the README cannot drift."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from slicewise.cli.main import parser

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", README.read_text(), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"&&|\|", line):
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
