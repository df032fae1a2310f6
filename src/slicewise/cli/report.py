"""``slicewise report``: spend against the baseline, latency and failures from the ledger."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import re
import sys
import time
from decimal import Decimal
from typing import Any

from slicewise.cli.console import out, print_json, share
from slicewise.ledger.report import GROUPINGS, Row

UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "report",
        help="cost, savings, latency and failures from the ledger",
        description="Requests, tokens, cost, baseline cost, savings, latency p50/p95, error and "
        "fallback rates, grouped by day, tenant, key, model or route.",
    )
    p.add_argument("--since", default="7d", type=since, help="e.g. 30m, 24h, 7d, 4w or all")
    p.add_argument("--by", default="day", choices=GROUPINGS, help="grouping (default day)")
    p.add_argument("--tenant", help="only this tenant's transactions")
    p.add_argument(
        "--drift",
        action="store_true",
        help="only the drift report: per route, agreement with the reference model",
    )
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="JSON for machines")
    form.add_argument("--csv", action="store_true", help="CSV for machines")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--config", metavar="FILE", help="YAML configuration naming the ledger")
    source.add_argument("--ledger", metavar="URL", help="sqlite:///PATH or postgresql://...")
    p.set_defaults(run=run)


def since(value: str) -> float | None:
    """``7d`` as the Unix time seven days ago; ``all`` as no limit."""
    if value == "all":
        return None
    found = re.fullmatch(r"(\d+)([mhdw])", value)
    if found is None:
        raise argparse.ArgumentTypeError(f"{value!r}: write a number and a unit (m, h, d, w)")
    return time.time() - int(found[1]) * UNITS[found[2]]


def run(args: argparse.Namespace) -> int:
    from slicewise.cli import drift_section
    from slicewise.config import load_config
    from slicewise.ledger.engine import open_engine
    from slicewise.ledger.migrations import migrate
    from slicewise.ledger.report import report

    url = args.ledger or load_config(args.config).ledger.url
    engine = open_engine(url, create=False)
    try:
        migrate(engine)  # an empty or older ledger reports like a current one
        if args.drift:
            drift_section.show(engine, args.since, args.json, quiet_when_empty=False)
            return 0
        rows = report(engine, args.since, args.by, args.tenant)
        if args.json:
            print_json([_plain(row) for row in rows])
        elif args.csv:
            _csv(rows)
        else:
            _table(rows, args.by)
            if args.tenant is None:  # shadow calls belong to no tenant
                drift_section.show(engine, args.since, False, quiet_when_empty=True)
    finally:
        engine.dispose()
    return 0


def _plain(row: Row) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in dataclasses.asdict(row).items()}


def _csv(rows: list[Row]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow([f.name for f in dataclasses.fields(Row)])
    for row in rows:
        writer.writerow(_plain(row).values())


def _table(rows: list[Row], by: str) -> None:
    from rich.table import Table

    table = Table(title=f"ledger by {by}")
    for name in (by, "requests", "tokens in/out", "cost $", "baseline $", "saved $", "saved"):
        table.add_column(name, justify="left" if name == by else "right")
    for name in ("p50 ms", "p95 ms", "errors", "fallbacks"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(*_cells(row))
    out.print(table)
    if any(row.unpriced for row in rows):
        out.print(f"{sum(r.unpriced for r in rows)} requests have no price; not in cost $")


def _cells(row: Row) -> list[str]:
    return [
        row.group,
        f"{row.requests:,}",
        f"{row.input_tokens:,}/{row.output_tokens:,}",
        f"{row.cost_usd:.6f}",
        f"{row.baseline_cost_usd:.6f}",
        f"{row.savings_usd:.6f}",
        "-" if row.savings_share is None else share(row.savings_share),
        "-" if row.p50_ms is None else f"{row.p50_ms:.0f}",
        "-" if row.p95_ms is None else f"{row.p95_ms:.0f}",
        share(row.error_rate),
        share(row.fallback_rate),
    ]
