"""``slicewise models``: the configured models with prices, context, status and price source."""

from __future__ import annotations

import argparse
import dataclasses
from decimal import Decimal
from typing import Any

from slicewise.cli.console import out, print_json


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "models",
        help="models with prices, context window, retirement status and price source",
        description="Every configured model: its price in force today (USD per million input "
        "and output tokens) and where it comes from (config, the bundled genai-prices table, "
        "or unknown), context window, aliases, and status (active, retiring on DATE, retired "
        "on DATE). Models a provider would list at start are not shown.",
    )
    p.add_argument("--config", metavar="FILE", help="YAML configuration (default: built-in)")
    p.add_argument("--json", action="store_true", help="JSON for machines")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slicewise.config import load_config
    from slicewise.upkeep.listing import models
    from slicewise.upkeep.prices import today

    rows = models(load_config(args.config), today())
    if args.json:
        print_json([_plain(row) for row in rows])
        return 0
    _table(rows)
    return 0


def _plain(row: Any) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in dataclasses.asdict(row).items()}


def _table(rows: list[Any]) -> None:
    from rich.table import Table

    table = Table(title="models")
    table.add_column("model (aliases)", no_wrap=True)
    for name in ("in $/Mtok", "out $/Mtok", "price from", "context"):
        table.add_column(name, justify="left" if name == "price from" else "right")
    table.add_column("status")
    table.add_column("replaced by")
    for row in rows:
        plain = _plain(row)
        table.add_row(
            row.name + (f" ({', '.join(row.aliases)})" if row.aliases else ""),
            plain["input_usd_per_mtok"] or "unknown",
            plain["output_usd_per_mtok"] or "unknown",
            row.price_source + (f"; {row.next_price}" if row.next_price else ""),
            "-" if row.context_window is None else f"{row.context_window:,}",
            row.status,
            row.replaced_by or "-",
        )
    out.print(table)
    unknown = [row.name for row in rows if row.price_source == "unknown"]
    if unknown:
        out.print(f"no known price (costs reported as unknown): {', '.join(unknown)}")
