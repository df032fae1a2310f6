"""The drift section of ``slicewise report``: each route's agreement with its reference model."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from slicewise.cli.console import out, print_json, share


def show(engine: Engine, since: float | None, as_json: bool, quiet_when_empty: bool) -> None:
    """Print the drift report (a table, or JSON); nothing when empty and ``quiet_when_empty``."""
    from slicewise.upkeep.shadows import summary

    rows = summary(engine, since)
    if as_json:
        print_json([_plain(row) for row in rows])
        return
    if not rows:
        if not quiet_when_empty:
            out.print(
                "drift: no shadow comparisons in this period (no route samples drift, or none ran)"
            )
        return
    _table(rows)


def _plain(row: Any) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in dataclasses.asdict(row).items()}


def _table(rows: list[Any]) -> None:
    from rich.table import Table

    table = Table(title="drift: agreement with the reference model on sampled requests")
    table.add_column("route")
    table.add_column("reference")
    for name in ("samples", "agreement", "95% interval", "failed", "shadow cost $"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row.route,
            row.reference,
            f"{row.samples:,}",
            "-" if row.agreement is None else share(row.agreement),
            f"{share(row.low)}-{share(row.high)}" if row.samples else "-",
            f"{row.failed:,}",
            f"{row.cost_usd:.6f}" + (f" (+{row.unpriced} unpriced)" if row.unpriced else ""),
        )
    out.print(table)
