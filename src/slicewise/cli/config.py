"""``slicewise config check``: report every problem of a configuration file."""

from __future__ import annotations

import argparse
from typing import Any

from slicewise.cli import console
from slicewise.config import load_config


def add_parser(commands: Any) -> None:
    p = commands.add_parser("config", help="check a configuration file")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="report every problem with its place in the file")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slicewise.upkeep.listing import drift_warnings
    from slicewise.upkeep.prices import today
    from slicewise.upkeep.registry import Registry

    config = load_config(args.file)
    console.out.print(
        f"{args.file}: ok: {len(config.providers)} providers, {len(config.models)} models, "
        f"routes {', '.join(config.routes)}"
    )
    for line in [*Registry.of(config).warnings(), *drift_warnings(config, today())]:
        console.out.print(f"{args.file}: warning: {line}", soft_wrap=True)
    return 0
