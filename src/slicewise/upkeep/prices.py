"""Versioned prices: each model's list of prices with the UTC day each took effect.

A model's first price is its configured flat price, else the bundled genai-prices table's; the
configuration's dated changes (``prices: [{from: DATE, input, output}]``) follow it. The price
in force on a day is the last one whose day has come; a cost is computed with the price in
force when its request arrived. Where no price is known, the cost is ``None`` (reported,
never zero).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from slicewise.config.prices import lookup
from slicewise.config.schema import ModelConfig

CONFIG, TABLE, UNKNOWN = "config", "genai-prices", "unknown"


@dataclass(frozen=True)
class PriceVersion:
    effective: date | None
    """First UTC day in force; ``None``: since before any recorded change."""
    input_usd_per_mtok: Decimal | None
    output_usd_per_mtok: Decimal | None
    source: str
    """``config``, ``genai-prices`` or ``unknown``."""

    @property
    def known(self) -> bool:
        return self.input_usd_per_mtok is not None and self.output_usd_per_mtok is not None


@dataclass(frozen=True)
class Priced:
    """What is known of a model's price: its versions, oldest first, and its context window."""

    versions: tuple[PriceVersion, ...]
    context_window: int | None = None

    def on(self, day: date) -> PriceVersion:
        """The price in force on ``day`` (an ``unknown`` one before the first known)."""
        starts = [v.effective or date.min for v in self.versions]
        at = bisect.bisect_right(starts, day) - 1
        return self.versions[at] if at >= 0 else PriceVersion(None, None, None, UNKNOWN)

    @property
    def changes(self) -> bool:
        """Whether the price ever changes (a cost then depends on its day)."""
        return len(self.versions) > 1


def priced(config: ModelConfig) -> Priced:
    """The price history of a configured model (the table is read once, here)."""
    price_in, price_out = config.input_usd_per_mtok, config.output_usd_per_mtok
    window = None
    source = CONFIG
    if price_in is None or price_out is None:
        found_in, found_out, window = lookup(config.provider, config.upstream)
        price_in = price_in if price_in is not None else found_in
        price_out = price_out if price_out is not None else found_out
        source = TABLE if found_in is not None else UNKNOWN
    first = PriceVersion(None, price_in, price_out, source)
    changes = tuple(PriceVersion(c.effective, c.input, c.output, CONFIG) for c in config.prices)
    return Priced((first, *changes), config.context_window or window)


def day_of(unix: float) -> date:
    return datetime.fromtimestamp(unix, UTC).date()


def today() -> date:
    return datetime.now(UTC).date()
