"""The decision rule every router shares, vectorised over prompts.

A router only predicts each model's quality; turning predictions into a choice is the same
for all of them:

- *willingness to pay* ``wtp``: maximise ``quality - wtp * cost / reference_cost``. ``wtp = 0``
  buys the best predicted quality; ``wtp = inf`` buys the cheapest model.
- *quality threshold*: the cheapest model whose predicted quality is at least the threshold;
  when none reaches it, the one predicted best.
- *cost ceiling*: the best predicted quality among models whose predicted cost fits.
- *mixture*: a share of prompts decided at one ``wtp`` and the rest at another, to reach the
  operating points between two that a single ``wtp`` reaches. Which prompts go which way is a
  hash of the prompt's predictions, so the same prompt always gets the same model.

Ties go to the cheaper model. Ineligible models (``eligible`` False) are never chosen.
"""

from __future__ import annotations

import zlib

import numpy as np

from slicewise.errors import RoutingError

CHEAPEST = float("inf")
_SPAN = float(1 << 32)


def by_wtp(
    quality: np.ndarray,
    cost: np.ndarray,
    wtp: float,
    reference_cost: float,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Index of the chosen model per prompt (``quality`` and ``cost`` are ``(n, m)``)."""
    utility = -cost if wtp == CHEAPEST else quality - (wtp / reference_cost) * cost
    return _argmax(utility, cost, eligible)


def by_mixture(
    quality: np.ndarray,
    cost: np.ndarray,
    rich_wtp: float,
    cheap_wtp: float,
    share: float,
    reference_cost: float,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """``by_wtp`` at ``rich_wtp`` for a ``share`` of prompts, at ``cheap_wtp`` for the rest."""
    rich = by_wtp(quality, cost, rich_wtp, reference_cost, eligible)
    if share >= 1.0 or rich_wtp == cheap_wtp:
        return rich
    cheap = by_wtp(quality, cost, cheap_wtp, reference_cost, eligible)
    return np.where(draw(quality, cost) < share, rich, cheap)


def draw(quality: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per prompt, fixed by the bits of its predictions.

    A CRC of each row's float32 bytes: about a microsecond a prompt, the same whether the
    prompt is routed alone or in a batch, so one prompt always gets the same model.
    """
    rows = np.ascontiguousarray(np.hstack([quality, np.nan_to_num(cost)]), dtype=np.float32)
    return np.fromiter((zlib.crc32(row) / _SPAN for row in rows), np.float64, len(rows))


def by_threshold(
    quality: np.ndarray, cost: np.ndarray, threshold: float, eligible: np.ndarray | None = None
) -> np.ndarray:
    meets = quality >= threshold
    # cheapest among those that meet the bar; else the best predicted quality
    utility = np.where(meets, -cost, -np.inf)
    choice = _argmax(utility, cost, eligible)
    none = ~_masked(meets, eligible).any(axis=1)
    if none.any():
        choice[none] = _argmax(
            quality[none], cost[none], None if eligible is None else eligible[none]
        )
    return choice


def by_ceiling(
    quality: np.ndarray, cost: np.ndarray, ceiling: float, eligible: np.ndarray | None = None
) -> np.ndarray:
    fits = cost <= ceiling
    allowed = _masked(fits, eligible)
    if not allowed.any(axis=1).all():
        cheapest = float(np.nanmin(np.where(_masked(np.ones_like(fits), eligible), cost, np.nan)))
        raise RoutingError(
            f"no eligible model fits the cost ceiling ${ceiling:g}; the cheapest "
            f"predicted cost is ${cheapest:.6g}: raise max_cost"
        )
    return _argmax(quality, cost, allowed)


def _masked(mask: np.ndarray, eligible: np.ndarray | None) -> np.ndarray:
    return mask if eligible is None else mask & eligible


def _argmax(utility: np.ndarray, cost: np.ndarray, eligible: np.ndarray | None) -> np.ndarray:
    """Argmax per row with ties to the cheaper model; NaN cost or ineligible never wins."""
    utility = np.where(np.isnan(cost) | np.isnan(utility), -np.inf, utility)
    if eligible is not None:
        if not eligible.any(axis=1).all():
            raise RoutingError("no candidate model is eligible for this request")
        utility = np.where(eligible, utility, -np.inf)
    # a tiny cost-proportional tie-break keeps choices stable and cheap when utilities tie
    scale = np.nanmax(np.abs(cost)) or 1.0
    tie = np.where(np.isnan(cost), 0.0, cost) * (1e-9 / scale)
    return np.asarray(np.argmax(utility - tie, axis=1), dtype=np.int64)
