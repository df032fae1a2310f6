"""The router contract: one scoring method, one shared decision rule.

A router predicts, for a batch of prompts, each model's quality (``predict_quality``). Cost
comes from the shared ``CostModel``; the choice from ``slicewise.routing.decide``; a quality
target becomes a willingness to pay through the router's ``Calibration``. Subclasses hold only
what they learned and say how to save it (``arrays``/``params``) and restore it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from slicewise.cards import ModelCard
from slicewise.errors import ConfigError, RoutingError
from slicewise.features import Featurizer, prompt_text, shape_features
from slicewise.outcomes import Messages
from slicewise.routing import decide
from slicewise.routing.calibrate import Calibration
from slicewise.routing.cost import CostModel, count_tokens
from slicewise.routing.route import Candidate, Route
from slicewise.routing.target import Target


@dataclass(frozen=True, eq=False)
class Features:
    """What routers see of a batch of prompts."""

    tokens: np.ndarray
    shape: np.ndarray
    embedding: np.ndarray | None


class Router(abc.ABC):
    kind: ClassVar[str]
    uses_embedding: ClassVar[bool] = True

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
    ):
        self.models = tuple(models)
        self.cost = cost
        self.featurizer = featurizer if self.uses_embedding else None
        self.calibration = calibration
        self.cards = dict(cards or {})
        self.offsets: np.ndarray | None = None
        """Per-model corrections added to predicted quality (set by ``slicewise check
        --recalibrate`` when a model's measured quality moved since training)."""

    # -- what each router defines -------------------------------------------------------

    @abc.abstractmethod
    def predict_quality(self, features: Features) -> np.ndarray:
        """Predicted quality in [0, 1] per prompt and model, shape ``(n, len(models))``."""

    def arrays(self) -> dict[str, np.ndarray]:
        """Learned arrays to save in the artifact."""
        return {}

    def params(self) -> dict[str, Any]:
        """JSON-safe settings to save in the artifact."""
        return {}

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
        return cls(models, cost, featurizer, calibration, cards)

    # -- shared machinery ---------------------------------------------------------------

    def featurize(self, texts: Sequence[str]) -> Features:
        embedding = self.featurizer.transform(texts) if self.featurizer is not None else None
        return Features(count_tokens(texts), shape_features(texts), embedding)

    def predict(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted quality and cost, each ``(n, len(models))``."""
        features = self.featurize(texts)
        quality = self.predict_quality(features)
        if self.offsets is not None:
            quality = np.clip(quality + self.offsets, 0.0, 1.0)
        return quality, self.cost.predict(features.tokens)

    def choose(
        self,
        quality: np.ndarray,
        cost: np.ndarray,
        target: Target | None,
        eligible: np.ndarray | None = None,
    ) -> np.ndarray:
        """Index of the chosen model per prompt; ``None`` target means best single's quality."""
        target = target or Target("share", 1.0)
        if target.kind == "quality":
            return decide.by_threshold(quality, cost, target.value, eligible)
        if target.kind == "max_cost":
            return decide.by_ceiling(quality, cost, target.value, eligible)
        if target.kind == "share" and self.calibration is not None:
            # Where realised quality jumps between two neighbouring wtp values no single wtp
            # lands on the target; routing a share of prompts at each of the two bracketing
            # calibration points reaches the cost-quality hull between them.
            mix = self.calibration.mixture_for_share(target.value)
            return decide.by_mixture(
                quality, cost, mix.rich_wtp, mix.cheap_wtp, mix.share, self.reference_cost, eligible
            )
        return decide.by_wtp(quality, cost, self.wtp(target), self.reference_cost, eligible)

    def wtp(self, target: Target) -> float:
        if target.kind == "wtp":
            return target.value
        if self.calibration is None:
            # uncalibrated: read the share against the predicted best model's quality
            return _share_of_predicted(target.value)
        return self.calibration.wtp_for_share(target.value)

    @property
    def reference_cost(self) -> float:
        if self.calibration is not None and self.calibration.best_cost > 0:
            return self.calibration.best_cost
        known = self.cost.fixed[self.cost.known()]
        return float(known.max()) if known.size and known.max() > 0 else 1.0

    def route(
        self,
        messages: Messages,
        target: Target | None = None,
        candidates: Sequence[str] | None = None,
    ) -> Route:
        """Decide one request and say why."""
        eligible = self._eligible(candidates)
        quality, cost = self.predict([prompt_text(messages)])
        choice = int(self.choose(quality, cost, target, eligible[None, :])[0])
        weighed = tuple(
            Candidate(
                m,
                float(quality[0, j]),
                _usd(cost[0, j]),
                bool(eligible[j]),
                "" if eligible[j] else "not a candidate",
            )
            for j, m in enumerate(self.models)
        )
        model = self.models[choice]
        return Route(model, self.kind, weighed, self._reason(weighed[choice], target))

    def _eligible(self, candidates: Sequence[str] | None) -> np.ndarray:
        if candidates is None:
            return self.cost.known()
        unknown = sorted(set(candidates) - set(self.models))
        if unknown:
            raise ConfigError(
                f"candidate(s) {', '.join(unknown)} are not known to this router; "
                f"it knows {', '.join(self.models)}"
            )
        mask = np.asarray(np.array([m in candidates for m in self.models]) & self.cost.known())
        if not mask.any():
            raise RoutingError(
                "none of the candidates has a known price; add prices to their model cards"
            )
        return mask

    def _reason(self, chosen: Candidate, target: Target | None) -> str:
        target = target or Target("share", 1.0)
        cost = "unknown cost" if chosen.cost is None else f"${chosen.cost:.6f}"
        return (
            f"{self.kind} router, target {target}: {chosen.model} predicted quality "
            f"{chosen.quality:.3f} at {cost}"
        )


def _share_of_predicted(share: float) -> float:
    # Without calibration a share target has no realised-quality table; a wtp that trades one
    # point of quality for a tenth of the reference cost is a neutral middle setting.
    return 0.1 if share < 1.0 else 0.0


def _usd(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
