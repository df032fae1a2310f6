"""``slicewise config check``: report every problem of a configuration file."""

from __future__ import annotations

import argparse
import os
from typing import Any

from slicewise.cli import console
from slicewise.config.load import load_with_lines, place
from slicewise.errors import ConfigError
from slicewise.policy.check import conflicts


def add_parser(commands: Any) -> None:
    p = commands.add_parser("config", help="check a configuration file")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="report every problem with its place in the file",
        description="Report every problem with its place in the file, then every policy "
        "conflict (rules that leave a class no model, a block overriding a redact, ...). "
        "Exit status 0 when all is well, 1 when there are conflicts, 2 when the file is wrong.",
    )
    check.add_argument("file", metavar="FILE")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slicewise.gateway.catalog import unset_keys
    from slicewise.upkeep.listing import drift_warnings
    from slicewise.upkeep.prices import today
    from slicewise.upkeep.registry import Registry

    config, lines = load_with_lines(args.file)
    if config.empty():
        raise ConfigError(f"{args.file}: {config.empty()}")
    found = conflicts(config)
    for conflict in found:
        console.out.print(
            f"{place(args.file, conflict.path, lines)}: conflict: {conflict.message}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    rules = len(config.policies.rules) if config.policies else 0
    state = f"{len(found)} policy conflicts" if found else "ok"
    console.out.print(
        f"{args.file}: {state}: {len(config.providers)} providers, {len(config.models)} models, "
        f"routes {', '.join(config.routes)}" + (f", {rules} policy rules" if rules else ""),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    warnings = [*Registry.of(config).warnings(), *drift_warnings(config, today())]
    for line in [*warnings, *unset_keys(config, os.environ)]:
        console.out.print(f"{args.file}: warning: {line}", soft_wrap=True)
    return 1 if found else 0
