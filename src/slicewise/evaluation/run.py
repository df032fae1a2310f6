"""Offline evaluation: every router against the baselines, on held-out prompts.

Each router is trained on the training prompts (with its own inner calibration) and swept
over its knob on the held-out prompts; with ``folds`` the held-out prompts are each fold in
turn, and the folds' choices are pooled into one curve per router. Baselines (best single,
cheapest, random, zero router, oracle) are read off the same held-out outcomes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from slicewise.errors import DataError
from slicewise.evaluation import cascade as cascades
from slicewise.evaluation import curves
from slicewise.evaluation.curves import Point
from slicewise.features import prompt_text
from slicewise.outcomes import Outcomes
from slicewise.routing import calibrate, decide
from slicewise.routing.cascade import CascadeRouter
from slicewise.routing.target import Target
from slicewise.routing.train import Settings, train

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Pair:
    weak: str
    strong: str


@dataclass
class RouterResult:
    points: list[Point]
    summary: dict[str, float | None]
    target_share: float
    target_quality: float
    realised_quality: float
    realised_cost: float
    pair_points: list[tuple[float, float]] = field(default_factory=list)
    apgr: float | None = None
    cpt50: float | None = None
    cpt80: float | None = None


@dataclass
class Evaluation:
    source: str
    prompts: int
    folds: int | None
    singles: dict[str, Point]
    best: str
    baseline: Point
    oracle: Point
    cheapest: Point
    random: Point
    zero: list[Point]
    low: float
    high: float
    pair: Pair
    routers: dict[str, RouterResult]
    zero_summary: dict[str, float | None]
    fixed_cascade: tuple[str, Point, dict[str, float | None]] | None = None
    """The best fixed two-model agreement cascade chosen on training prompts: its models,
    held-out point and numbers; ``None`` without comparable recorded answers."""

    def as_dict(self) -> dict[str, Any]:
        def pt(p: Point) -> dict[str, float]:
            return {"cost": p.cost, "quality": p.quality}

        return {
            "source": self.source,
            "prompts": self.prompts,
            "folds": self.folds,
            "best_single": self.best,
            "baseline": pt(self.baseline),
            "singles": {m: pt(p) for m, p in self.singles.items()},
            "oracle": pt(self.oracle),
            "cheapest": pt(self.cheapest),
            "random": pt(self.random),
            "zero_router": {"points": [pt(p) for p in self.zero], **self.zero_summary},
            "aiq_range": [self.low, self.high],
            "pair": {"weak": self.pair.weak, "strong": self.pair.strong},
            "fixed_cascade": None
            if self.fixed_cascade is None
            else {
                "cascade": self.fixed_cascade[0],
                **pt(self.fixed_cascade[1]),
                **self.fixed_cascade[2],
            },
            "routers": {
                name: {
                    **r.summary,
                    "target_share": r.target_share,
                    "target_quality": r.target_quality,
                    "realised_quality": r.realised_quality,
                    "realised_cost_share": r.realised_cost / self.baseline.cost,
                    "apgr": r.apgr,
                    "cpt50": r.cpt50,
                    "cpt80": r.cpt80,
                    "points": [pt(p) for p in r.points],
                }
                for name, r in self.routers.items()
            },
        }


@dataclass
class _Tally:
    """Sums over held-out prompts, pooled across folds."""

    grid: np.ndarray = field(default_factory=lambda: np.zeros((len(calibrate.GRID), 2)))
    pair: np.ndarray = field(default_factory=lambda: np.zeros((len(calibrate.GRID), 2)))
    target: np.ndarray = field(default_factory=lambda: np.zeros(3))
    paired: bool = True
    """False for cascades: they call several models, so strong/weak numbers do not apply."""


def evaluate(
    data: Outcomes,
    kinds: Sequence[str],
    *,
    test: Outcomes | None = None,
    folds: int = 5,
    target: float = 0.95,
    pair: Pair | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate router ``kinds`` on ``test`` (trained on ``data``) or by k-fold on ``data``."""
    settings = settings or Settings()
    say = progress or (lambda _: None)
    data = data.complete()
    splits = _splits(data, test, folds, settings.seed)
    pair = pair or _default_pair(data)
    tallies = {kind: _Tally(paired=kind != "cascade") for kind in kinds}
    pooled: list[tuple[Outcomes, int]] = []
    fixed: list[tuple[str, float, float]] = []
    for number, (fit, held) in enumerate(splits, start=1):
        best = _best(fit)
        pooled.append((held, best))
        fixed.append(_fixed(fit, held) if "cascade" in kinds else ("", np.nan, np.nan))
        for kind in kinds:
            say(f"split {number}/{len(splits)}: {kind}")
            router = train(fit, replace(settings, kind=kind))
            if isinstance(router, CascadeRouter):
                tallies[kind].grid, tallies[kind].target = _add(
                    tallies[kind], cascades.tally(router, held, target)
                )
            else:
                _tally(router, held, tallies[kind], target, pair)
    result = _assemble(
        data if test is None else test,
        pooled,
        tallies,
        target,
        pair,
        None if test is not None else len(splits),
    )
    result.fixed_cascade = _fixed_summary(fixed, result)
    return result


def _add(tally: _Tally, sums: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return tally.grid + sums[0], tally.target + sums[1]


def _fixed(fit: Outcomes, held: Outcomes) -> tuple[str, float, float]:
    chosen = cascades.best_fixed(fit)
    if chosen is None:
        return "", np.nan, np.nan
    quality, cost = cascades.fixed_sums(held, chosen[1])
    return str(chosen[0]), quality, cost


def _fixed_summary(
    fixed: list[tuple[str, float, float]], result: Evaluation
) -> tuple[str, Point, dict[str, float | None]] | None:
    if not fixed or any(np.isnan(q) for _, q, _ in fixed):
        return None
    n = result.prompts
    point = Point(sum(c for *_, c in fixed) / n, sum(q for _, q, _ in fixed) / n)
    chosen = Counter(name for name, *_ in fixed).most_common(1)[0]
    names = chosen[0] if chosen[1] == len(fixed) else f"{chosen[0]} in {chosen[1]}/{len(fixed)}"
    return names, point, curves.summary([point], result.baseline, result.low, result.high)


def _splits(
    data: Outcomes, test: Outcomes | None, folds: int, seed: int
) -> list[tuple[Outcomes, Outcomes]]:
    if test is not None:
        missing = sorted(set(data.models) - set(test.models))
        if missing:
            raise DataError(
                test.path,
                None,
                "outcomes",
                f"the test file has no outcomes for {', '.join(missing)}; it must "
                "cover every model of the training file",
            )
        held = test.select_models(data.models).complete()
        if len(held) == 0:
            raise DataError(
                test.path,
                None,
                "outcomes",
                "no test prompt has outcomes for every model of the training file",
            )
        return [(data, held)]
    if folds < 2 or folds > len(data):
        raise DataError(
            data.path,
            None,
            None,
            f"cannot make {folds} folds of {len(data)} "
            "prompts; use --folds between 2 and the number of prompts",
        )
    order = np.random.default_rng(seed).permutation(len(data))
    parts = np.array_split(order, folds)
    return [(data.take(np.setdiff1d(order, p)), data.take(np.sort(p))) for p in parts]


def _default_pair(data: Outcomes) -> Pair:
    return Pair(weak=data.models[_cheapest(data)], strong=data.models[_best(data)])


def _best(table: Outcomes) -> int:
    quality, cost = table.scores.mean(axis=0), table.costs.mean(axis=0)
    return int(np.lexsort((cost, -quality))[0])


def _cheapest(table: Outcomes) -> int:
    return int(np.argmin(table.costs.mean(axis=0)))


def _tally(router: Any, held: Outcomes, tally: _Tally, target: float, pair: Pair) -> None:
    held = held.select_models(router.models)
    texts = [prompt_text(m) for m in held.messages]
    quality, cost = router.predict(texts)
    rows = np.arange(len(held))
    for g, wtp in enumerate(calibrate.GRID):
        choice = router.choose(quality, cost, Target("wtp", float(wtp)))
        tally.grid[g] += held.scores[rows, choice].sum(), held.costs[rows, choice].sum()
    choice = router.choose(quality, cost, Target("share", target))
    goal = target * router.calibration.best_quality
    tally.target += (
        goal * len(held),
        held.scores[rows, choice].sum(),
        held.costs[rows, choice].sum(),
    )
    eligible = np.zeros((len(held), len(router.models)), bool)
    strong = router.models.index(pair.strong)
    eligible[:, [router.models.index(pair.weak), strong]] = True
    for g, wtp in enumerate(calibrate.GRID):
        choice = decide.by_wtp(quality, cost, float(wtp), router.reference_cost, eligible)
        tally.pair[g] += (choice == strong).sum(), held.scores[rows, choice].sum()


def _assemble(
    source: Outcomes,
    pooled: list[tuple[Outcomes, int]],
    tallies: dict[str, _Tally],
    target: float,
    pair: Pair,
    folds: int | None,
) -> Evaluation:
    n = sum(len(h) for h, _ in pooled)
    models = pooled[0][0].models
    scores = np.vstack([h.scores for h, _ in pooled])
    costs = np.vstack([h.costs for h, _ in pooled])
    singles = {
        m: Point(float(costs[:, j].mean()), float(scores[:, j].mean()))
        for j, m in enumerate(models)
    }
    best_rows = np.concatenate([np.full(len(h), b) for h, b in pooled])
    rows = np.arange(n)
    baseline = Point(float(costs[rows, best_rows].mean()), float(scores[rows, best_rows].mean()))
    zero = curves.zero_router(list(singles.values()))
    low, high = curves.shared_range(list(singles.values()))
    results = {
        kind: _result(t, n, baseline, low, high, target, pair, singles)
        for kind, t in tallies.items()
    }
    cheap = min(singles, key=lambda m: singles[m].cost)
    return Evaluation(
        source=source.path,
        prompts=n,
        folds=folds,
        singles=singles,
        best=models[int(np.bincount(best_rows).argmax())],
        baseline=baseline,
        oracle=_oracle(scores, costs),
        cheapest=singles[cheap],
        random=Point(float(costs.mean()), float(scores.mean())),
        zero=zero,
        low=low,
        high=high,
        pair=pair,
        routers=results,
        zero_summary=curves.summary(zero, baseline, low, high),
    )


def _result(
    t: _Tally,
    n: int,
    baseline: Point,
    low: float,
    high: float,
    target: float,
    pair: Pair,
    singles: dict[str, Point],
) -> RouterResult:
    points = [Point(float(c / n), float(q / n)) for q, c in t.grid]
    pair_points = [(float(s / n), float(q / n)) for s, q in t.pair]
    weak, strong = singles[pair.weak].quality, singles[pair.strong].quality
    result = RouterResult(
        points=points,
        summary=curves.summary(points, baseline, low, high),
        target_share=target,
        target_quality=float(t.target[0] / n),
        realised_quality=float(t.target[1] / n),
        realised_cost=float(t.target[2] / n),
        pair_points=pair_points,
    )
    if strong > weak and t.paired:
        result.apgr = curves.apgr(pair_points, weak, strong)
        result.cpt50 = curves.cpt(pair_points, weak, strong, 0.5)
        result.cpt80 = curves.cpt(pair_points, weak, strong, 0.8)
    return result


def _oracle(scores: np.ndarray, costs: np.ndarray) -> Point:
    """Per prompt, the cheapest model with the best score."""
    best = scores.max(axis=1, keepdims=True)
    cost = np.where(scores >= best, costs, np.inf).min(axis=1)
    return Point(float(cost.mean()), float(best.mean()))
