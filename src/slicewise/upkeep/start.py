"""What upkeep does when the gateway starts: warn of retirements, snapshot prices, start drift."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from slicewise.config.schema import Config
from slicewise.gateway.catalog import Catalog
from slicewise.gateway.metrics import Metrics
from slicewise.ledger import Ledger, NullLedger
from slicewise.upkeep import snapshot
from slicewise.upkeep.drift import Drift

logger = logging.getLogger(__name__)


def started(config: Config, catalog: Catalog, ledger: Ledger, metrics: Metrics) -> Drift | None:
    """Run at start inside the event loop; returns the drift sampler when any route has one."""
    catalog.registry.announce()
    if not isinstance(ledger, NullLedger):
        _snapshot(catalog, ledger)
    drift = Drift(config, catalog, None if isinstance(ledger, NullLedger) else ledger.engine)
    if not drift.routes:
        return None
    from slicewise.upkeep.drift_metrics import DriftCollector

    metrics.registry.register(DriftCollector(drift))
    drift.start()
    logger.info("drift: sampling routes %s", ", ".join(drift.routes))
    return drift


def _snapshot(catalog: Catalog, ledger: Ledger) -> None:
    prices = [
        snapshot.SnapshotPrice(m.name, m.input_usd_per_mtok, m.output_usd_per_mtok, m.price_source)
        for m in catalog.models.values()
    ]
    try:
        snapshot.take(ledger.engine, prices)
    except SQLAlchemyError as exc:  # a missed snapshot only blinds `prices diff`; serve anyway
        logger.warning("price snapshot not stored: %s", exc)
