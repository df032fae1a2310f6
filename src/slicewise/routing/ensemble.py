"""Ensemble router: the mean of a ridge predictor's and a nearest-neighbour router's predictions.

The two err differently: the predictor is smooth and global (one linear map from features to
quality), the neighbours are local and shrunk to each model's mean. Their average routes better
than either in cross-validation on every outcomes source tried, most at the quality-leaning end
where a router must not do worse than always sending best single. The one calibration table is
built from the averaged predictions, so the mixture is calibrated as a whole.

A cluster member was tried as a third and made the mean worse; see ``cluster``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from slicewise.cards import ModelCard
from slicewise.features import Featurizer
from slicewise.routing.calibrate import Calibration
from slicewise.routing.cost import CostModel
from slicewise.routing.knn import NEIGHBOURS, PRIOR, KnnRouter
from slicewise.routing.predictor import PredictorRouter
from slicewise.routing.router import Features, Router


class EnsembleRouter(Router):
    kind = "ensemble"

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
        predictor: PredictorRouter | None = None,
        knn: KnnRouter | None = None,
    ):
        super().__init__(models, cost, featurizer, calibration, cards)
        self.predictor = predictor or PredictorRouter(models, cost, None, None)
        self.knn = knn or KnnRouter(models, cost, None, None)

    def predict_quality(self, features: Features) -> np.ndarray:
        both = self.predictor.predict_quality(features) + self.knn.predict_quality(features)
        return np.asarray(both / 2.0)

    def arrays(self) -> dict[str, np.ndarray]:
        parts = (("predictor", self.predictor), ("knn", self.knn))
        return {
            f"{name}.{key}": value
            for name, member in parts
            for key, value in member.arrays().items()
        }

    def params(self) -> dict[str, Any]:
        return {"predictor": self.predictor.params(), "knn": self.knn.params()}

    @classmethod
    def restore(
        cls,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard],
        arrays: dict[str, np.ndarray],
        params: dict[str, Any],
    ) -> Router:
        predictor = PredictorRouter(
            models,
            cost,
            None,
            None,
            None,
            arrays["predictor.weights"],
            arrays["predictor.bias"],
            str(params["predictor"].get("link", "identity")),
        )
        knn = KnnRouter(
            models,
            cost,
            None,
            None,
            None,
            arrays["knn.embedding"],
            arrays["knn.scores"],
            int(params["knn"].get("neighbours", NEIGHBOURS)),
            float(params["knn"].get("prior", PRIOR)),
        )
        return cls(models, cost, featurizer, calibration, cards, predictor, knn)
