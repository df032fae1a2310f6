"""``slicewise eval``: every router against the baselines, with the standard numbers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from slicewise import features
from slicewise.cli import console
from slicewise.errors import ConfigError
from slicewise.evaluation.curves import Point
from slicewise.evaluation.plot import plot_html, plot_png
from slicewise.evaluation.run import Evaluation, Pair, evaluate
from slicewise.outcomes import Outcomes, concat, load_outcomes
from slicewise.routing.learn import MIN_COVERAGE
from slicewise.routing.train import LEARNED, Settings

COMPARED = ("ensemble", "predictor", "knn", "cluster")


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "eval",
        help="compare routers offline on outcomes",
        description="Train each router and sweep it on held-out prompts (a --test file, or "
        "k folds of --data); compare with best single, cheapest, random, the zero router and "
        "the oracle.",
    )
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        type=Path,
        metavar="FILE",
        help="outcomes JSONL to train on (and to fold, without --test)",
    )
    split = p.add_mutually_exclusive_group()
    split.add_argument("--test", type=Path, metavar="FILE", help="held-out outcomes JSONL")
    split.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument(
        "--router",
        nargs="+",
        default=None,
        choices=LEARNED,
        metavar="KIND",
        help=f"routers to compare: {', '.join(LEARNED)} (default {', '.join(COMPARED)}, and "
        "cascade when the data records replies)",
    )
    p.add_argument("--features", default=features.DEFAULT, choices=sorted(features.FEATURIZERS))
    p.add_argument(
        "--target",
        type=float,
        default=0.95,
        help="quality target as a share of best single's (default 0.95)",
    )
    p.add_argument(
        "--pair",
        metavar="WEAK,STRONG",
        help="models for APGR and CPT (default: cheapest, best single)",
    )
    p.add_argument(
        "--plot",
        type=Path,
        default=Path("slicewise-eval"),
        metavar="DIR",
        help="directory for curves.png and curves.html (default slicewise-eval)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print every number as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data = concat([load_outcomes(path) for path in args.data])
    test = load_outcomes(args.test) if args.test else None
    pair = _pair(args.pair, data.models)
    settings = Settings(features=args.features, seed=args.seed)
    with console.status(not args.json) as say:
        result = evaluate(
            data,
            args.router or _compared(data),
            test=test,
            folds=args.folds,
            target=args.target,
            pair=pair,
            settings=settings,
            progress=say,
        )
    _plot(result, args.plot)
    if args.json:
        console.print_json(result.as_dict())
    else:
        _table(result)
        console.err.print(f"plots: {args.plot / 'curves.png'}, {args.plot / 'curves.html'}")
    return 0


def _compared(data: Outcomes) -> list[str]:
    """The default routers: the prompt-only ones, and cascades when replies can be compared."""
    replies = sum(len(r) for r in data.responses)
    cells = max(len(data) * len(data.models), 1)
    return [*COMPARED, "cascade"] if replies / cells >= MIN_COVERAGE else list(COMPARED)


def _pair(text: str | None, models: tuple[str, ...]) -> Pair | None:
    if text is None:
        return None
    weak, _, strong = text.partition(",")
    for name in (weak, strong):
        if name not in models:
            raise ConfigError(
                f"--pair: {name!r} is not a model in the data; choose two of {', '.join(models)}"
            )
    return Pair(weak, strong)


def _plot(result: Evaluation, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[Point]] = {name: r.points for name, r in result.routers.items()}
    lines["zero router"] = result.zero
    lines["oracle"] = [result.oracle]
    title = f"{Path(result.source).parent.name or result.source}: {result.prompts} prompts"
    plot_png(lines, result.singles, directory / "curves.png", title=title, baseline=result.baseline)
    plot_html(
        lines, result.singles, directory / "curves.html", title=title, baseline=result.baseline
    )


COLUMNS = ("router", "cost @ best q", "cost @ 95% q", "quality gain", "AIQ", "APGR",
           "CPT(50%)", "CPT(80%)")  # fmt: skip


def _table(result: Evaluation) -> None:
    how = f"{result.folds}-fold cross-validation" if result.folds else "held-out test file"
    table = Table(
        title=f"{result.source}: {result.prompts} prompts, {how}",
        caption=f"best single {result.best}: quality {result.baseline.quality:.3f} at "
        f"${result.baseline.cost:.6f}/prompt; costs are shares of best single's cost; "
        f"AIQ over ${result.low:.6f}..${result.high:.6f}; pair {result.pair.weak} / "
        f"{result.pair.strong}",
    )
    target = next(iter(result.routers.values())).target_share if result.routers else 0.95
    for column in (*COLUMNS, f"quality @ target {target:.2f}"):
        table.add_column(column, justify="left" if column == "router" else "right")
    for row in (*_router_rows(result), *_baseline_rows(result)):
        table.add_row(*row)
    console.out.print(table)


def _curve(summary: dict[str, float | None]) -> list[str]:
    """The columns every curve has: costs at best and 95 % quality, gain, AIQ."""
    return [
        console.share(summary["cost_at_best_share"]),
        console.share(summary["cost_at_95_share"]),
        _num(summary["quality_gain"]),
        _num(summary["aiq"]),
    ]


def _router_rows(result: Evaluation) -> list[list[str]]:
    rows = []
    for name, r in result.routers.items():
        realised = (
            f"{r.realised_quality:.3f} vs {r.target_quality:.3f} "
            f"({console.share(r.realised_cost / result.baseline.cost)} cost)"
        )
        pair = [_num(r.apgr), console.share(r.cpt50), console.share(r.cpt80)]
        rows.append([name, *_curve(r.summary), *pair, realised])
    if result.fixed_cascade is not None:
        name, point, summary = result.fixed_cascade
        spent = console.share(point.cost / result.baseline.cost)
        rows.append([f"fixed cascade ({name})", *_curve(summary), "", "", "",
                     f"{point.quality:.3f} q ({spent} cost)"])  # fmt: skip
    rows.append(["zero router", *_curve(result.zero_summary), "", "", "", ""])
    return rows


def _baseline_rows(result: Evaluation) -> list[list[str]]:
    points = (("oracle", result.oracle), ("cheapest", result.cheapest),
              ("random", result.random), ("best single", result.baseline))  # fmt: skip
    return [
        [name, *[""] * 7, f"{p.quality:.3f} at {console.share(p.cost / result.baseline.cost)} cost"]
        for name, p in points
    ]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}" if value < 0 else f"{value:.3f}"
