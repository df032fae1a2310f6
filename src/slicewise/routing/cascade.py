"""Cascade router: per prompt, either one model or a cascade, whichever the target favours.

The router's options are every single model (a one-stage cascade) and the learned cascades,
each at several acceptance thresholds. From the prompt alone, a quality predictor (the default
ensemble, fitted on the options' out-of-fold outcomes) predicts each option's quality and how
often each cascade escalates, hence its expected cost; the shared decision rule then picks one
option per prompt, so a prompt where cascading does not pay (code, where answers cannot be
compared) goes straight to one model. A quality target is met through the options' own
calibration table, built out of fold like every router's.

Used as a plain ``Router`` (no replies available, as in a gateway that cannot run stages) it is
the ensemble over the single models, with that ensemble's calibration: the cascade part degrades
to prompt-only routing. On a source without recorded replies it learns no cascade at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slicewise.cards import ModelCard
from slicewise.features import Featurizer, shape_features
from slicewise.routing import decide
from slicewise.routing.acceptance import Check
from slicewise.routing.answers import AnswerTable, answer_table
from slicewise.routing.calibrate import Calibration
from slicewise.routing.cost import CostModel
from slicewise.routing.ensemble import EnsembleRouter
from slicewise.routing.router import Features, Router
from slicewise.routing.stages import Cascade, execute
from slicewise.routing.target import Target
from slicewise.routing.votes import vote


@dataclass(frozen=True, eq=False)
class Batch:
    """Prompts ready to decide: option predictions, answers and shape features."""

    quality: np.ndarray
    cost: np.ndarray
    answers: AnswerTable
    shape: np.ndarray


@dataclass(frozen=True, eq=False)
class Decisions:
    """Per prompt: the option taken, the model whose answer is returned, the last stage."""

    options: tuple[Cascade, ...]
    option: np.ndarray
    accepted: np.ndarray
    depth: np.ndarray

    def calls(self, row: int) -> list[list[int]]:
        """Models called per stage for prompt ``row``."""
        stages = self.options[int(self.option[row])].stages
        return [list(s) for s in stages[: int(self.depth[row]) + 1]]

    def called(self, models: int) -> np.ndarray:
        """``(prompts, models)`` True where the model was called."""
        mask = np.zeros((len(self.option), models), bool)
        for row in range(len(self.option)):
            for stage in self.calls(row):
                mask[row, stage] = True
        return mask


class CascadeRouter(Router):
    kind = "cascade"

    def __init__(
        self,
        models: Sequence[str],
        cost: CostModel,
        featurizer: Featurizer | None,
        calibration: Calibration | None,
        cards: dict[str, ModelCard] | None = None,
        scorer: EnsembleRouter | None = None,
        cascades: Sequence[Cascade] = (),
        checks: Sequence[Check] = (),
        weight: np.ndarray | None = None,
        plan: Calibration | None = None,
    ):
        super().__init__(models, cost, featurizer, calibration, cards)
        m = len(self.models)
        self.scorer = scorer or EnsembleRouter(self.models, cost, None, None)
        self.cascades = tuple(cascades)
        self.options = tuple(Cascade(((j,),), 1.0) for j in range(m)) + self.cascades
        self.checks = {c.called: c for c in checks}
        self.weight = np.ones(m) if weight is None else weight
        self.plan = plan

    # -- the Router contract: the single models only -----------------------------------

    def predict_quality(self, features: Features) -> np.ndarray:
        return self.scorer.predict_quality(features)[:, : len(self.models)]

    # -- cascades ----------------------------------------------------------------------

    def prepare(self, texts: Sequence[str], responses: Sequence[Mapping[str, str]]) -> Batch:
        features = self.featurize(texts)
        quality, cost = self.option_predictions(features)
        return Batch(quality, cost, answer_table(texts, responses, self.models), features.shape)

    def option_predictions(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        """Predicted quality and expected cost of every option, each ``(n, options)``."""
        return self.option_predictions_from(
            self.scorer.predict_quality(features), self.cost.predict(features.tokens)
        )

    def option_predictions_from(
        self, predicted: np.ndarray, single: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Option quality and expected cost from the scorer's columns and single models' cost."""
        m, c = len(self.models), len(self.cascades)
        quality = predicted[:, : m + c]
        reach = iter(predicted[:, m + c :].T)
        expected = [single]
        for cascade in self.cascades:
            total = single[:, list(cascade.stages[0])].sum(axis=1)
            for stage in cascade.stages[1:]:
                total = total + np.clip(next(reach), 0, 1) * single[:, list(stage)].sum(axis=1)
            expected.append(total[:, None])
        return quality, np.hstack(expected)

    def choose_options(self, batch: Batch, target: Target | None) -> np.ndarray:
        plan = self.plan or self.calibration
        assert plan is not None, "a cascade router is always trained with a calibration"
        target = target or Target("share", 1.0)
        q, c, reference = batch.quality, batch.cost, plan.best_cost
        if target.kind == "share":
            mix = plan.mixture_for_share(target.value)
            return decide.by_mixture(q, c, mix.rich_wtp, mix.cheap_wtp, mix.share, reference)
        if target.kind == "wtp":
            return decide.by_wtp(q, c, target.value, reference)
        if target.kind == "quality":
            return decide.by_threshold(q, c, target.value)
        return decide.by_ceiling(q, c, target.value)

    def decide(self, batch: Batch, target: Target | None) -> Decisions:
        """Choose an option per prompt and run it on the prompt's replies."""
        option = self.choose_options(batch, target)
        accepted = np.zeros(len(option), np.int64)
        depth = np.zeros(len(option), np.int64)
        for k in np.unique(option):
            rows = np.flatnonzero(option == k)
            run = execute(self.options[k], len(rows), self._probe(batch, rows))
            accepted[rows], depth[rows] = run.accepted, run.depth
        return Decisions(self.options, option, accepted, depth)

    def _probe(self, batch: Batch, rows: np.ndarray) -> Any:
        def probe(called: tuple[int, ...], at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            check = self.checks.get(called)
            if check is None:  # the last stage: no check, the vote decides
                return np.zeros(at.size), vote(batch.answers, called, self.weight, rows[at]).winner
            return check.probability(batch.answers, batch.shape, self.weight, rows[at])

        return probe

    # -- live: one prompt, replies arriving stage by stage --------------------------------

    def option_for(self, text: str, target: Target | None) -> Cascade:
        """The option for one prompt, chosen from the prompt alone, before any call."""
        features = self.featurize([text])
        quality, cost = self.option_predictions(features)
        answers = answer_table([text], [{}], self.models)
        option = self.choose_options(Batch(quality, cost, answers, features.shape), target)
        return self.options[int(option[0])]

    def check(
        self, cascade: Cascade, stage: int, text: str, replies: Mapping[str, str]
    ) -> tuple[bool, str]:
        """Whether the replies so far (model -> text) are accepted after ``stage``, and whose
        reply to return. The last stage always accepts: the vote decides."""
        answers = answer_table([text], [replies], self.models)
        batch = Batch(np.zeros((1, 0)), np.zeros((1, 0)), answers, shape_features([text]))
        rows = np.zeros(1, np.int64)
        probability, winner = self._probe(batch, rows)(cascade.called(stage), rows)
        last = stage == len(cascade.stages) - 1
        return bool(last or probability[0] >= cascade.threshold), self.models[int(winner[0])]

    def sweep(self, points: int) -> list[float]:
        plan = self.plan or self.calibration
        assert plan is not None
        return plan.sweep(points)

    # -- artifact ----------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"scorer.{k}": v for k, v in self.scorer.arrays().items()}
        out.update({f"check.{i}": c.coef for i, c in enumerate(self.checks.values())})
        out["weight"] = self.weight
        return out

    def params(self) -> dict[str, Any]:
        return {
            "columns": list(self.scorer.models),
            "scorer": self.scorer.params(),
            "cascades": [c.as_dict(self.models) for c in self.cascades],
            "checks": [
                {"called": [self.models[m] for m in c.called], "bias": c.bias}
                for c in self.checks.values()
            ],
            "plan": None if self.plan is None else self.plan.as_dict(),
        }

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
        scorer = EnsembleRouter.restore(
            params["columns"], cost, None, None, {}, _prefixed(arrays, "scorer."), params["scorer"]
        )
        assert isinstance(scorer, EnsembleRouter)
        checks = [
            Check(tuple(models.index(m) for m in c["called"]), arrays[f"check.{i}"], c["bias"])
            for i, c in enumerate(params["checks"])
        ]
        cascades = [Cascade.from_dict(c, models) for c in params["cascades"]]
        plan = None if params["plan"] is None else Calibration.from_dict(params["plan"])
        return cls(
            models, cost, featurizer, calibration, cards, scorer, cascades, checks,
            arrays["weight"], plan,
        )  # fmt: skip


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
