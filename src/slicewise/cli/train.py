"""``slicewise train``: learn a router from outcomes and save it as one file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from slicewise import features
from slicewise.cli import console
from slicewise.outcomes import concat, load_outcomes
from slicewise.routing import artifact
from slicewise.routing.train import DEFAULT_KIND, KINDS, Settings, train


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "train",
        help="train a router on outcomes JSONL",
        description="Train a router on outcomes and save it to one file.",
    )
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        type=Path,
        metavar="FILE",
        help="outcomes JSONL file(s); several are joined",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="ROUTER",
        help="where to write the router (safetensors)",
    )
    p.add_argument(
        "--router",
        default=DEFAULT_KIND,
        choices=KINDS,
        metavar="KIND",
        help=f"router kind: {', '.join(KINDS)} (default {DEFAULT_KIND})",
    )
    p.add_argument(
        "--features",
        default=features.DEFAULT,
        choices=sorted(features.FEATURIZERS),
        help=f"prompt features (default {features.DEFAULT})",
    )
    p.add_argument("--folds", type=int, default=5, help="calibration folds (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    outcomes = concat([load_outcomes(path) for path in args.data])
    settings = Settings(kind=args.router, features=args.features, folds=args.folds, seed=args.seed)
    with console.status(not args.json) as say:
        router = train(outcomes, settings, progress=say)
    calibration = router.calibration
    assert calibration is not None
    summary = {
        "router": str(args.out),
        "kind": router.kind,
        "prompts": len(outcomes),
        "models": list(router.models),
        "features": args.features if router.featurizer else None,
        "best_single": calibration.best_model,
        "best_single_quality": calibration.best_quality,
        "notes": list(outcomes.notes),
        "seconds": round(time.perf_counter() - started, 2),
    }
    artifact.save(router, args.out, fingerprint=outcomes.fingerprint, metrics=summary)
    if args.json:
        console.print_json(summary)
        return 0
    for note in outcomes.notes:
        console.err.print(f"note: {note}")
    console.out.print(
        f"trained a {router.kind} router on {len(outcomes)} prompts x {len(router.models)} "
        f"models in {summary['seconds']} s; best single is {calibration.best_model} "
        f"(quality {calibration.best_quality:.3f}); saved to {args.out}"
    )
    return 0
