"""List prices from the offline table of the ``genai-prices`` package.

A model's card takes its prices from the configuration when given, else from this table;
when neither knows the model, its price stays unknown (``None``), which is reported and never
read as zero.
"""

from __future__ import annotations

import logging
from decimal import Decimal

logger = logging.getLogger(__name__)

# genai-prices names some providers differently from our configuration's provider names
PROVIDER_IDS = {"gemini": "google", "together": "together", "openrouter": "openrouter"}


def lookup(provider: str, model: str) -> tuple[Decimal | None, Decimal | None, int | None]:
    """(input, output) USD per million tokens and the context window, or ``None`` each."""
    try:
        from genai_prices import Usage, calc_price

        found = calc_price(
            Usage(input_tokens=0, output_tokens=0),
            model_ref=model,
            provider_id=PROVIDER_IDS.get(provider, provider),
        )
    except (ImportError, LookupError) as exc:
        logger.debug("no list price for %s/%s: %s", provider, model, exc)
        return None, None, None
    price = found.model_price
    return (
        _flat(price.input_mtok),
        _flat(price.output_mtok),
        getattr(found.model, "context_window", None),
    )


def _flat(value: object) -> Decimal | None:
    """A flat per-million price; tiered prices use their base tier."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    base = getattr(value, "base", None)
    return base if isinstance(base, Decimal) else None
