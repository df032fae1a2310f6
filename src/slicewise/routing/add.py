"""Adding (or updating) one model in a trained router from its profile, without retraining.

Only the cluster router can: its per-model profiles are independent, so a new column is fitted
from the model's probe outcomes alone (``ClusterRouter.with_model``). The ensemble, predictor
and nearest-neighbour routers learn every model from the same training prompts, so a model
profiled on other prompts cannot join them without retraining on a table where it has outcomes
on those prompts; they are refused with that explanation.

Calibration: when the outcomes also hold every other model of the router on enough prompts, the
enlarged router is recalibrated on them (predictions in-sample, so a little optimistic);
otherwise the old table is kept and a note says so (``slicewise check --recalibrate`` fixes it
from outcomes of every model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slicewise.errors import ConfigError, DataError
from slicewise.features import prompt_text
from slicewise.outcomes import Outcomes
from slicewise.routing import cost as costs
from slicewise.routing.calibrate import calibrate
from slicewise.routing.cluster import ClusterRouter
from slicewise.routing.record import Record
from slicewise.routing.router import Router

MIN_CALIBRATION = 30
"""Prompts with every model's outcome needed to recalibrate after adding a model."""


@dataclass(frozen=True, eq=False)
class Added:
    router: Router
    record: Record | None
    prompts: int
    replaced: bool
    notes: tuple[str, ...]


def add_model(router: Router, record: Record | None, outcomes: Outcomes, name: str) -> Added:
    """``router`` with ``name`` profiled from ``outcomes``; the other models are untouched."""
    if not isinstance(router, ClusterRouter) or router.featurizer is None:
        raise ConfigError(
            f"a {router.kind} router cannot take a model without retraining (its models are "
            "learned together from the same prompts); only a cluster router can. Retrain with "
            "the new outcomes (`slicewise train --data ...`), or train a cluster router "
            "(`slicewise train --router cluster ...`) to add models later"
        )
    if name not in outcomes.models:
        raise DataError(outcomes.path, None, "outcomes", f"no outcomes for model {name!r}")
    column = outcomes.models.index(name)
    rows = np.flatnonzero(~np.isnan(outcomes.scores[:, column]))
    table = outcomes.take(rows)
    texts = [prompt_text(m) for m in table.messages]
    embedding = router.featurizer.transform(texts)
    fitted = costs.fit(
        costs.count_tokens(texts),
        table.costs[:, [column]],
        table.output_tokens[:, [column]],
        [table.cards.get(name)],
    )
    added = router.with_model(
        name, embedding, table.scores[:, column], float(fitted.fixed[0]), float(fitted.per_token[0])
    )
    added.cards = {**router.cards, **({name: table.cards[name]} if name in table.cards else {})}
    if router.offsets is not None:  # corrections of the kept models stay; the new one has none
        kept = dict(zip(router.models, router.offsets, strict=True))
        added.offsets = np.array([kept.get(m, 0.0) if m != name else 0.0 for m in added.models])
    notes = _calibrate(added, router, outcomes)
    if record is not None:
        record = record.with_model(name, table.ids, table.scores[:, column], table.costs[:, column])
    return Added(added, record, len(rows), name in router.models, notes)


def _calibrate(added: ClusterRouter, old: Router, outcomes: Outcomes) -> tuple[str, ...]:
    present = [m for m in added.models if m in outcomes.models]
    if len(present) == len(added.models):
        table = outcomes.select_models(list(added.models)).complete()
        if len(table) >= MIN_CALIBRATION:
            features = added.featurize([prompt_text(m) for m in table.messages])
            predicted = added.predict_quality(features)
            quality = np.nanmean(table.scores, axis=0)
            best = int(np.lexsort((np.nanmean(table.costs, axis=0), -quality))[0])
            added.calibration = calibrate(
                predicted,
                added.cost.predict(features.tokens),
                table.scores,
                table.costs,
                best,
                added.models,
            )
            return (f"recalibrated on {len(table)} prompts that every model answered",)
    added.calibration = old.calibration
    return (
        "calibration kept from the old router: the outcomes lack other models' results on "
        f"at least {MIN_CALIBRATION} shared prompts; run `slicewise check --recalibrate` with "
        "outcomes of every model to refit it",
    )
