"""The dashboard: one self-contained HTML page over the ledger's reports.

Spend against the baseline per day, savings per route, model mix, a table per tenant and the
last failed transactions. Charts are inline SVG drawn here (``gateway.svg``); the page loads
nothing else. Every string from the ledger is escaped. Failures show time, route, model, status
and the error message, never a prompt or a key (providers redact their key from errors).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from sqlalchemy import select

from slicewise.gateway import svg
from slicewise.ledger import Ledger
from slicewise.ledger.report import Row, report
from slicewise.ledger.schema import transactions as t

RECENT_FAILURES = 20
ERROR_CHARS = 300
COST, BASELINE, SAVED, MIX = "#2e86de", "#b2bec3", "#27ae60", "#8e44ad"
TENANT_COLUMNS = (
    "tenant",
    "requests",
    "tokens in/out",
    "cost",
    "baseline",
    "saved",
    "saved share",
    "p50 ms",
    "p95 ms",
    "errors",
    "fallbacks",
)


@dataclass(frozen=True)
class Failure:
    created: float
    route: str
    model: str
    """The model that answered, else the one requested."""
    status: int
    error: str | None


@dataclass(frozen=True)
class Views:
    total: Row | None
    days: list[Row]
    routes: list[Row]
    models: list[Row]
    tenants: list[Row]
    failures: list[Failure]


def gather(ledger: Ledger, since: float | None) -> Views:
    """Everything the page shows, read after the ledger has committed what it was given."""
    ledger.flush()
    engine = ledger.engine
    total = report(engine, since, "all")
    with engine.connect() as db:
        found = db.execute(
            select(t.c.created, t.c.route, t.c.model, t.c.requested, t.c.status, t.c.error)
            .where(t.c.status >= 400)
            .order_by(t.c.created.desc())
            .limit(RECENT_FAILURES)
        )
        failures = [
            Failure(r.created, r.route, r.model or r.requested, r.status, r.error) for r in found
        ]
    return Views(
        total=total[0] if total else None,
        days=report(engine, since, "day"),
        routes=report(engine, since, "route"),
        models=report(engine, since, "model"),
        tenants=report(engine, since, "tenant"),
        failures=failures,
    )


def page(views: Views, period: str) -> str:
    sections = [
        _summary(views.total, period),
        _section("Spend against the baseline, per day (UTC)", _spend(views.days)),
        '<div class="pair">',
        _section("Savings per route", _savings(views.routes)),
        _section("Model mix (requests)", _mix(views.models)),
        "</div>",
        _section("Tenants", _tenants(views.tenants)),
        _section(f"Recent failures (last {RECENT_FAILURES})", _failures(views.failures)),
    ]
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>slicewise dashboard</title>"
        f"<style>{STYLE}</style></head>"
        f"<body><h1>slicewise</h1>{''.join(sections)}</body></html>\n"
    )


def usd(value: Decimal) -> str:
    """Dollars with as many decimals as small amounts need."""
    places = 2 if abs(value) >= 100 else 4 if abs(value) >= 1 else 6
    return f"${value:,.{places}f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _summary(total: Row | None, period: str) -> str:
    cells = [("period", period)]
    if total is not None:
        cells += [
            ("requests", f"{total.requests:,}"),
            ("cost", usd(total.cost_usd)),
            ("baseline", usd(total.baseline_cost_usd)),
            ("saved", f"{usd(total.savings_usd)} ({share(total.savings_share)})"),
            ("errors", share(total.error_rate)),
        ]
    inner = "".join(f"<div><span>{escape(k)}</span><b>{escape(v)}</b></div>" for k, v in cells)
    return f'<div class="summary">{inner}</div>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _spend(days: list[Row]) -> str:
    series = [
        svg.Series("cost", COST, [float(r.cost_usd) for r in days]),
        svg.Series("baseline", BASELINE, [float(r.baseline_cost_usd) for r in days]),
    ]
    return svg.columns([r.group for r in days], series, lambda v: usd(Decimal(repr(v))))


def _savings(routes: list[Row]) -> str:
    items = [
        (r.group, float(r.savings_usd), f"{usd(r.savings_usd)} {share(r.savings_share)}")
        for r in routes
    ]
    return svg.bars(items, SAVED)


def _mix(models: list[Row]) -> str:
    total = sum(r.requests for r in models) or 1
    ordered = sorted(models, key=lambda r: -r.requests)
    items = [
        (_model(r.group), float(r.requests), f"{r.requests:,} ({r.requests / total:.0%})")
        for r in ordered
    ]
    return svg.bars(items, MIX)


def _model(group: str) -> str:
    return "none (failed first)" if group == "-" else group


def _tenants(rows: list[Row]) -> str:
    body = [
        (
            r.group,
            f"{r.requests:,}",
            f"{r.input_tokens:,}/{r.output_tokens:,}",
            usd(r.cost_usd),
            usd(r.baseline_cost_usd),
            usd(r.savings_usd),
            share(r.savings_share),
            _ms(r.p50_ms),
            _ms(r.p95_ms),
            share(r.error_rate),
            share(r.fallback_rate),
        )
        for r in rows
    ]
    return _table(TENANT_COLUMNS, body)


def _failures(failures: list[Failure]) -> str:
    body = [
        (
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(f.created)),
            f.route,
            f.model,
            str(f.status),
            _clip(f.error or ""),
        )
        for f in failures
    ]
    return _table(("time (UTC)", "route", "model", "status", "error"), body)


def _table(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    if not body:
        return '<p class="none">none in this period</p>'
    top = "".join(f"<th>{escape(h)}</th>" for h in head)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{top}</tr></thead><tbody>{rows}</tbody></table>"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


STYLE = """
body { font: 14px system-ui, sans-serif; color: #222; background: #f6f7f9; margin: 24px; }
h1 { font-size: 22px; margin: 0 0 16px; }
h2 { font-size: 16px; margin: 0 0 12px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 16px;
  margin-bottom: 16px; }
.pair { display: flex; gap: 16px; }
.pair section { flex: 1; overflow: hidden; }
.summary { display: flex; gap: 12px; margin-bottom: 16px; }
.summary div { background: #fff; border: 1px solid #dde1e6; border-radius: 6px;
  padding: 10px 14px; }
.summary span { display: block; color: #666; font-size: 12px; }
.summary b { font-size: 18px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eceef1;
  vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td { font-variant-numeric: tabular-nums; word-break: break-word; }
.none { color: #666; }
"""
