"""``slicewise prices diff``: prices in the bundled table, the configuration and the last run."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from slicewise.cli.console import out, print_json


def add_parser(commands: Any) -> None:
    p = commands.add_parser("prices", help="compare model prices across their sources")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    diff = actions.add_parser(
        "diff",
        help="what changed between the bundled table, the configuration and the last run",
        description="For each model: the bundled genai-prices table's price, the "
        "configuration's price in force today, the price the gateway serves with, and the "
        "price the last gateway start recorded in the ledger; then what differs and any dated "
        "change still to come. Prices are USD per million input/output tokens.",
    )
    diff.add_argument("--config", metavar="FILE", help="YAML configuration (default: built-in)")
    diff.add_argument("--ledger", metavar="URL", help="ledger holding the last run's prices")
    diff.add_argument("--all", action="store_true", help="also models where nothing differs")
    diff.add_argument("--json", action="store_true", help="JSON for machines (every model)")
    diff.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slicewise.config import load_config
    from slicewise.ledger.engine import open_engine, sqlite_path
    from slicewise.ledger.migrations import migrate
    from slicewise.upkeep import snapshot
    from slicewise.upkeep.listing import price_diff
    from slicewise.upkeep.prices import today

    config = load_config(args.config)
    url = args.ledger or config.ledger.url
    path = sqlite_path(url)
    taken: float | None = None
    last: dict[str, snapshot.SnapshotPrice] = {}
    if path is None or path.is_file():  # no ledger yet: no last run, and none is made here
        engine = open_engine(url)
        try:
            migrate(engine)
            taken, last = snapshot.latest(engine)
        finally:
            engine.dispose()
    rows = price_diff(config, today(), last)
    if args.json:
        print_json({"last_run": taken, "models": [dataclasses.asdict(r) for r in rows]})
        return 0
    _table(rows if args.all else [r for r in rows if r.changes], taken, len(rows))
    return 0


def _table(rows: list[Any], taken: float | None, total: int) -> None:
    import time

    from rich.table import Table

    when = "never" if taken is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(taken))
    if not rows:
        many = f"{total} model" + ("s" if total != 1 else "")
        out.print(f"no price differs for the {many} (last run: {when}; --all shows them)")
        return
    table = Table(title=f"prices, USD per Mtok in/out (last run: {when})")
    for name in ("model", "table", "config", "served", "last run", "what changed"):
        table.add_column(name)
    for row in rows:
        changes = "; ".join(row.changes) or "-"
        table.add_row(row.model, row.table, row.config, row.served, row.last_run, changes)
    out.print(table)
    if len(rows) < total:
        same = total - len(rows)
        out.print(f"{same} model{'s' if same != 1 else ''} unchanged (--all shows them)")
