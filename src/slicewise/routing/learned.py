"""What learned routers share: a share target is met by mixing two calibrated operating points.

``Router.choose`` turns a share target into one willingness to pay. Where the calibration
table's realised quality jumps between two neighbouring ``wtp`` values, no single ``wtp`` lands
on the target; a learned router instead routes a share of prompts at each of the two bracketing
points (``Calibration.mixture_for_share``), which reaches the table's cost-quality hull.

Known shortcoming: this belongs in ``Router.choose`` itself (baselines would gain nothing, but
one rule in one place reads better); it lives here until the router contract takes it.
"""

from __future__ import annotations

import numpy as np

from slicewise.routing import decide
from slicewise.routing.router import Router
from slicewise.routing.target import Target


class LearnedRouter(Router):
    """A router whose share targets are met by a calibrated ``Mixture``."""

    def choose(
        self,
        quality: np.ndarray,
        cost: np.ndarray,
        target: Target | None,
        eligible: np.ndarray | None = None,
    ) -> np.ndarray:
        target = target or Target("share", 1.0)
        if target.kind != "share" or self.calibration is None:
            return super().choose(quality, cost, target, eligible)
        mix = self.calibration.mixture_for_share(target.value)
        return decide.by_mixture(
            quality, cost, mix.rich_wtp, mix.cheap_wtp, mix.share, self.reference_cost, eligible
        )
