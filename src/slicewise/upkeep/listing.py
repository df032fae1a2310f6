"""What ``slicewise models`` and ``slicewise prices diff`` show, computed from the configuration.

No provider is contacted: models a provider would list at start (``discover``) are not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from slicewise.config.prices import lookup
from slicewise.config.schema import Config, ModelConfig
from slicewise.upkeep.prices import CONFIG, UNKNOWN, PriceVersion, priced
from slicewise.upkeep.registry import Registry
from slicewise.upkeep.snapshot import SnapshotPrice


@dataclass(frozen=True)
class ModelRow:
    name: str
    version: str | None
    aliases: tuple[str, ...]
    input_usd_per_mtok: Decimal | None
    output_usd_per_mtok: Decimal | None
    price_source: str
    """Where today's price comes from: ``config``, ``genai-prices`` or ``unknown``."""
    context_window: int | None
    status: str
    """``active``, ``retiring on DATE`` or ``retired on DATE``."""
    replaced_by: str | None
    next_price: str | None
    """A dated price change still to come: ``DATE: in/out``."""


def models(config: Config, day: date) -> list[ModelRow]:
    registry = Registry.of(config, lambda: day)
    return [_model_row(m, config, registry, day) for m in config.models]


def _model_row(m: ModelConfig, config: Config, registry: Registry, day: date) -> ModelRow:
    history = priced(m)
    now = history.on(day)
    status, life = registry.status(m.name, day)
    coming = [v for v in history.versions if v.effective is not None and v.effective > day]
    return ModelRow(
        m.name,
        m.version,
        tuple(a for a, target in config.aliases.items() if target == m.name),
        now.input_usd_per_mtok,
        now.output_usd_per_mtok,
        now.source,
        history.context_window,
        status if life is None or status == "active" else f"{status} on {life.retires}",
        m.replaced_by,
        f"{coming[0].effective}: {_pair(coming[0])}" if coming else None,
    )


@dataclass(frozen=True)
class PriceDiff:
    model: str
    table: str
    """The bundled genai-prices table's price, ``in/out`` USD per Mtok, or ``unknown``."""
    config: str
    """The configuration's price in force today, or ``-`` when it gives none."""
    served: str
    """The price the gateway would serve with today (configuration, else table)."""
    last_run: str
    """The price of the last gateway start, or ``-`` when it did not have the model."""
    changes: list[str] = field(default_factory=list)


def price_diff(config: Config, day: date, snapshot: dict[str, SnapshotPrice]) -> list[PriceDiff]:
    """Per model (configured or in the last run): what each source says and what differs."""
    rows = []
    for m in config.models:
        table_in, table_out, _ = lookup(m.provider, m.upstream)
        table = _format(table_in, table_out)
        history = priced(m)
        now = history.on(day)
        own = now if now.source == CONFIG else None
        served = _pair(now)
        last = snapshot.get(m.name)
        last_run = (
            "-" if last is None else _format(last.input_usd_per_mtok, last.output_usd_per_mtok)
        )
        row = PriceDiff(m.name, table, "-" if own is None else _pair(own), served, last_run)
        _explain(row, now, history.versions, day, None if not snapshot else last is not None)
        rows.append(row)
    known = {m.name for m in config.models}
    for name, last in sorted(snapshot.items()):
        if name not in known:
            rows.append(PriceDiff(name, "-", "-", "-", _was(last), ["gone since the last run"]))
    return rows


def _explain(
    row: PriceDiff,
    now: PriceVersion,
    versions: tuple[PriceVersion, ...],
    day: date,
    seen: bool | None,
) -> None:
    """Why ``row`` deserves a look; ``seen`` is whether the last run had the model (``None``:
    there was no last run to compare with)."""
    if now.source == UNKNOWN:
        row.changes.append("price unknown: costs are reported as unknown")
    if row.config != "-" and row.table not in ("unknown", row.config):
        row.changes.append("configuration overrides the table")
    if seen is False:
        row.changes.append("new since the last run")
    elif seen and row.last_run != row.served:
        row.changes.append(f"changed since the last run: {row.last_run} -> {row.served}")
    for version in versions:
        if version.effective is not None and version.effective > day:
            row.changes.append(f"changes on {version.effective} to {_pair(version)}")


def _was(last: SnapshotPrice | None) -> str:
    return "-" if last is None else _format(last.input_usd_per_mtok, last.output_usd_per_mtok)


def _pair(version: PriceVersion) -> str:
    return _format(version.input_usd_per_mtok, version.output_usd_per_mtok)


def _format(price_in: Decimal | None, price_out: Decimal | None) -> str:
    if price_in is None or price_out is None:
        return "unknown"
    return f"{_money(price_in)}/{_money(price_out)}"


def _money(value: Decimal) -> str:
    return format(value.normalize(), "f")


def drift_warnings(config: Config, day: date) -> list[str]:
    """Routes whose drift cannot run: a capped reference or judge without a known price."""
    from slicewise.upkeep.drift import rules

    lines = []
    for route, rule in rules(config).items():
        for role, name in (("reference", rule.reference), ("judge", rule.judge)):
            model = config.model(name)
            if rule.daily_usd is not None and model and not priced(model).on(day).known:
                lines.append(
                    f"drift.routes.{route}: {role} {name} has no known price, so its daily_usd "
                    "cap cannot hold and the route is not sampled; price it or set daily_usd: null"
                )
    return lines
