"""Checks: has a model got worse since the router learned it, and does each target still hold?

``check`` compares new outcomes with the router's training record (``routing.record``):

- per model, the change of mean quality with a 95% bootstrap interval: paired on the prompts
  both have (the usual case: the same probe set, profiled again), else unpaired;
- per target, the quality the router *realises* when it routes the new outcomes, against the
  quality the target promised at training (share x best single's quality then). Cells the new
  outcomes lack are taken from the record, so re-profiling only the model that changed is
  enough. Prompts the router never trained on are used when there are enough of them;
- a recalibration: each model whose quality moved (interval excluding zero) gets its measured
  change added to its predicted quality (``Router.offsets``), so the router stops trusting a
  downgraded model, then a new calibration table is fitted on the new outcomes; and what each
  target realises with it. On the silent downgrades of ``bench/downgrade.py`` the offsets reach
  the target at a third of the cost of a new table alone.

A regression is a model worse by more than the tolerance whose interval lies wholly below zero,
or a target whose realised quality falls short of its promise by more than the tolerance with
its interval wholly below the promise (a few hundred prompts scatter by +-0.02 or more, so a
point comparison alone raises false alarms).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from slicewise.errors import DataError
from slicewise.features import prompt_text
from slicewise.outcomes import Outcomes
from slicewise.routing.calibrate import Calibration, Mixture, calibrate
from slicewise.routing.record import Record
from slicewise.routing.router import Router
from slicewise.routing.target import Target

TARGETS = (0.9, 0.95, 1.0)
TOLERANCE = 0.02
MIN_PAIRED = 20
MIN_HELD_OUT = 50
RESAMPLES = 2000
CELLS = 4_000_000
"""Resampled values held at once by ``bootstrap`` (32 MB of indices)."""


@dataclass(frozen=True)
class ModelChange:
    model: str
    prompts: int
    paired: bool
    before: float
    after: float
    low: float
    high: float
    regressed: bool

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class TargetCheck:
    share: float
    promised: float
    realised: float
    low: float
    high: float
    """95% bootstrap interval of the realised quality over the routed prompts."""
    cost: float
    recalibrated: float
    recalibrated_cost: float
    regressed: bool
    thresholds: tuple[Mixture, Mixture]
    """The operating point (two willingness-to-pay values and the share routed at the
    quality-leaning one) as learned, and as recalibrated."""


@dataclass(frozen=True, eq=False)
class Check:
    models: tuple[ModelChange, ...]
    targets: tuple[TargetCheck, ...]
    prompts: int
    held_out: bool
    tolerance: float
    learned: Calibration
    calibration: Calibration
    offsets: np.ndarray
    """Per-model corrections of predicted quality that go with ``calibration``."""
    singles: dict[str, tuple[float, float]]
    """Each model's mean (cost, quality) on the routed prompts, now."""
    notes: tuple[str, ...]

    @property
    def regressed(self) -> bool:
        return any(m.regressed for m in self.models) or any(t.regressed for t in self.targets)


def check(
    router: Router,
    record: Record,
    new: Outcomes,
    tolerance: float = TOLERANCE,
    targets: Sequence[float] = TARGETS,
) -> Check:
    """Compare ``new`` with ``record`` and route it with ``router`` (see the module docstring)."""
    learned = router.calibration
    if learned is None:
        raise DataError(new.path, None, None, "the router has no calibration table to check")
    offsets = np.zeros(len(router.models)) if router.offsets is None else router.offsets
    changes = tuple(
        c
        for j, m in enumerate(router.models)
        if (c := change(record, new, m, tolerance, float(offsets[j])))
    )
    notes = _model_notes(router, new)
    table, held_out = routed_table(router, record, new)
    notes.append(_coverage_note(len(table), held_out))
    fixed = recalibrate(router, table, corrections(router, changes))
    assert fixed.calibration is not None and fixed.offsets is not None
    checks = tuple(_target(router, fixed, table, s, tolerance) for s in targets)
    top = float(fixed.calibration.quality.max())
    notes += [
        f"share {t.share:g} promised {t.promised:.3f}, but the best any routing reaches "
        f"now is {top:.3f}"
        for t in checks
        if top < t.promised - 1e-9
    ]
    singles = {
        m: (float(table.costs[:, j].mean()), float(table.scores[:, j].mean()))
        for j, m in enumerate(table.models)
    }
    return Check(
        changes,
        checks,
        len(table),
        held_out,
        tolerance,
        learned,
        fixed.calibration,
        fixed.offsets,
        singles,
        tuple(notes),
    )


def _model_notes(router: Router, new: Outcomes) -> list[str]:
    unknown = [m for m in new.models if m not in router.models]
    absent = [m for m in router.models if m not in new.models]
    return [
        *(f"{m} is not in the router; add it with `slicewise train --add {m}`" for m in unknown),
        *(f"{m} has no new outcomes; its recorded ones are used" for m in absent),
    ]


def bootstrap(values: Sequence[np.ndarray], rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of ``mean(values[-1]) - mean(values[0])`` (or of the mean of
    one array of paired differences)."""
    means = []
    for sample in values:
        batch = max(1, CELLS // len(sample))  # resample in batches: bounded memory
        parts = [
            sample[
                rng.integers(0, len(sample), size=(min(batch, RESAMPLES - i), len(sample)))
            ].mean(axis=1)
            for i in range(0, RESAMPLES, batch)
        ]
        means.append(np.concatenate(parts))
    spread = means[0] if len(means) == 1 else means[1] - means[0]
    low, high = np.percentile(spread, [2.5, 97.5])
    return float(low), float(high)


def change(
    record: Record, new: Outcomes, model: str, tolerance: float, offset: float = 0.0
) -> ModelChange | None:
    """``model``'s quality now against what the router expects of it: the recorded scores
    plus the correction a past recalibration gave it (``offset``)."""
    if model not in new.models or model not in record.models:
        return None
    # at the record's precision (float32), so an unchanged score compares as exactly unchanged
    after_all = new.scores[:, new.models.index(model)].astype(np.float32).astype(float)
    before_all = record.scores[:, record.models.index(model)].astype(float) + offset
    rows = record.rows(new.ids)
    shared = (rows >= 0) & ~np.isnan(after_all)
    shared[shared] &= ~np.isnan(before_all[rows[shared]])
    rng = np.random.default_rng(0)
    if shared.sum() >= MIN_PAIRED:
        before, after = before_all[rows[shared]], after_all[shared]
        low, high = bootstrap([after - before], rng)
        paired = True
    else:
        before, after = before_all[~np.isnan(before_all)], after_all[~np.isnan(after_all)]
        if not len(before) or not len(after):
            return None
        low, high = bootstrap([before, after], rng)
        paired = False
    drop = float(after.mean() - before.mean())
    return ModelChange(
        model,
        len(after),
        paired,
        float(before.mean()),
        float(after.mean()),
        low,
        high,
        drop < -tolerance and high < 0,
    )


def routed_table(router: Router, record: Record, new: Outcomes) -> tuple[Outcomes, bool]:
    """The new prompts with every router model, gaps filled from the record; the unseen ones
    alone when there are enough."""
    rows = record.rows(new.ids)
    scores = np.full((len(new), len(router.models)), np.nan)
    costs = np.full_like(scores, np.nan)
    for j, model in enumerate(router.models):
        if model in new.models:
            scores[:, j] = new.scores[:, new.models.index(model)]
            costs[:, j] = new.costs[:, new.models.index(model)]
        if model in record.models:
            old = record.models.index(model)
            gap = np.isnan(scores[:, j]) & (rows >= 0)
            scores[gap, j] = record.scores[rows[gap], old]
            costs[gap, j] = record.costs[rows[gap], old]
    table = replace(
        new.select_models([]),
        models=router.models,
        scores=scores,
        costs=costs,
        input_tokens=np.full_like(scores, np.nan),
        output_tokens=np.full_like(scores, np.nan),
    )
    complete = ~np.isnan(scores).any(axis=1) & ~np.isnan(costs).any(axis=1)
    unseen = complete & (rows < 0)
    if unseen.sum() >= MIN_HELD_OUT:
        return table.take(np.flatnonzero(unseen)), True
    if not complete.any():
        raise DataError(
            new.path,
            None,
            "outcomes",
            "no prompt has an outcome for every model "
            "of the router, even with the recorded ones; profile the same probes",
        )
    return table.take(np.flatnonzero(complete)), False


def _predict(router: Router, table: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    return router.predict([prompt_text(m) for m in table.messages])


def corrections(router: Router, changes: Sequence[ModelChange]) -> np.ndarray:
    """The router's offsets plus each measured change whose interval excludes zero."""
    offsets = np.zeros(len(router.models)) if router.offsets is None else router.offsets.copy()
    if router.kind == "cascade":  # a cascade decides on its stages' answers, not on predictions
        return offsets
    for moved in changes:
        if moved.low > 0 or moved.high < 0:
            offsets[router.models.index(moved.model)] += moved.change
    return offsets


def recalibrate(router: Router, table: Outcomes, offsets: np.ndarray) -> Router:
    """A copy of ``router`` with ``offsets`` and a calibration table fitted on ``table``; the
    table keeps the promise (best single's quality) and reference model of the one learned, so
    a share target still means the same quality."""
    learned = router.calibration
    assert learned is not None
    fixed = recalibrated(router, learned, offsets)
    quality, cost = _predict(fixed, table)
    best = router.models.index(learned.best_model) if learned.best_model in router.models else 0
    fresh = calibrate(quality, cost, table.scores, table.costs, best, router.models)
    fixed.calibration = replace(
        fresh, best_quality=learned.best_quality, best_model=learned.best_model
    )
    return fixed


def recalibrated(router: Router, calibration: Calibration, offsets: np.ndarray) -> Router:
    """A copy of ``router`` that routes with ``calibration`` and ``offsets``."""
    copied = copy.copy(router)
    copied.calibration = calibration
    copied.offsets = offsets
    return copied


def routed(router: Router, table: Outcomes, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Each prompt's score and cost when ``table`` is routed at the share target."""
    if table.models != router.models:
        table = table.select_models(list(router.models))
    quality, cost = _predict(router, table)
    choice = router.choose(quality, cost, Target("share", share))
    rows = np.arange(len(table))
    return table.scores[rows, choice], table.costs[rows, choice]


def realised(router: Router, table: Outcomes, share: float) -> tuple[float, float]:
    """Mean quality and cost of routing ``table`` at the share target."""
    scores, costs = routed(router, table, share)
    return float(scores.mean()), float(costs.mean())


def _target(
    router: Router, fixed: Router, table: Outcomes, share: float, tolerance: float
) -> TargetCheck:
    assert router.calibration is not None
    promised = share * router.calibration.best_quality
    scores, costs = routed(router, table, share)
    quality = float(scores.mean())
    low, high = bootstrap([scores], np.random.default_rng(0))
    fixed_quality, fixed_cost = realised(fixed, table, share)
    short = quality < promised - tolerance and high < promised
    assert fixed.calibration is not None
    thresholds = (
        router.calibration.mixture_for_share(share),
        fixed.calibration.mixture_for_share(share),
    )
    return TargetCheck(
        share,
        promised,
        quality,
        low,
        high,
        float(costs.mean()),
        fixed_quality,
        fixed_cost,
        short,
        thresholds,
    )


def _coverage_note(prompts: int, held_out: bool) -> str:
    if held_out:
        return f"routed {prompts} prompts the router never trained on"
    return (
        f"routed {prompts} prompts, some of which the router trained on (fewer than "
        f"{MIN_HELD_OUT} unseen ones), so realised quality is a little optimistic"
    )
