"""``slicewise train``: learn a router from outcomes and save it as one file.

``--add MODEL`` instead adds (or updates) one model in a trained router from its profile,
without retraining the others (cluster routers only; see ``slicewise.routing.add``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from slicewise import features
from slicewise.cli import console
from slicewise.errors import ConfigError
from slicewise.outcomes import concat, load_outcomes
from slicewise.routing import artifact
from slicewise.routing.add import add_model
from slicewise.routing.record import Record
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
        type=Path,
        metavar="FILE",
        help="outcomes JSONL file(s); several are joined (required unless --add)",
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
        type=_kind_or_file,
        metavar="KIND",
        help=f"router kind: {', '.join(KINDS)} (default {DEFAULT_KIND}); with --add, the "
        "router file to add to",
    )
    p.add_argument(
        "--add",
        metavar="MODEL",
        help="add or update MODEL in the router file --router from --outcomes (its profile)",
    )
    p.add_argument("--outcomes", type=Path, metavar="FILE", help="with --add: MODEL's outcomes")
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


def _kind_or_file(text: str) -> str:
    """A router kind, or (for --add) a router file."""
    if text in KINDS or text.endswith(".safetensors") or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(
        f"invalid choice: {text!r} (choose from {', '.join(KINDS)}, or a router file with --add)"
    )


def run(args: argparse.Namespace) -> int:
    if args.add:
        return _add(args)
    if not args.data:
        raise ConfigError("--data is required (or --add MODEL --outcomes FILE --router FILE)")
    if args.router not in KINDS:
        raise ConfigError(f"--router {args.router!r}: a router file needs --add MODEL")
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
    record = Record.of(outcomes)
    artifact.save(
        router, args.out, fingerprint=outcomes.fingerprint, metrics=summary, record=record
    )
    if args.json:
        console.print_json(summary)
        return 0
    for note in outcomes.notes:
        console.err.print(f"note: {note}")
    console.out.print(
        f"trained the {router.kind} router on {len(outcomes)} prompts x {len(router.models)} "
        f"models in {summary['seconds']} s; best single is {calibration.best_model} "
        f"(quality {calibration.best_quality:.3f}); saved to {args.out}"
    )
    return 0


def _add(args: argparse.Namespace) -> int:
    if args.outcomes is None:
        raise ConfigError("--add needs --outcomes FILE: the model's profile (slicewise profile)")
    path = Path(args.router)
    router, head = artifact.load(path), artifact.header(path)
    added = add_model(router, artifact.load_record(path), load_outcomes(args.outcomes), args.add)
    metrics = dict(head.get("metrics") or {}) | {
        "added": args.add,
        "added_from": str(args.outcomes),
        "models": list(added.router.models),
    }
    artifact.save(
        added.router,
        args.out,
        fingerprint=head.get("fingerprint", ""),
        metrics=metrics,
        record=added.record,
    )
    summary = {
        "router": str(args.out),
        "model": args.add,
        "replaced": added.replaced,
        "prompts": added.prompts,
        "models": list(added.router.models),
        "notes": list(added.notes),
    }
    if args.json:
        console.print_json(summary)
        return 0
    verb = "updated" if added.replaced else "added"
    console.out.print(
        f"{verb} {args.add} from {added.prompts} prompts; the router now routes among "
        f"{len(added.router.models)} models; saved to {args.out}",
        highlight=False,
    )
    for note in added.notes:
        console.err.print(f"note: {note}", highlight=False)
    return 0
