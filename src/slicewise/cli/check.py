"""``slicewise check``: do a router's models and targets still hold on new outcomes?

Exit codes: 0 no regression; 1 a regression beyond the tolerance (a model worse with its whole
95% interval below zero, or a target's realised quality short of its promise by more than the
tolerance, its interval below the promise); 2 a usage or data error. Meant for CI or a nightly
job after ``slicewise profile``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from slicewise.cli import console
from slicewise.config.load import load_config
from slicewise.errors import ArtifactError, ConfigError
from slicewise.outcomes import concat, load_outcomes
from slicewise.routing import artifact
from slicewise.routing.record import Record
from slicewise.routing.target import parse_target
from slicewise.upkeep import report
from slicewise.upkeep.check import TARGETS, TOLERANCE, check, recalibrated

REGRESSION = 1


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "check",
        help="compare new outcomes with what a router learned from",
        description="Per-model quality change, realised quality at each target, and "
        "recalibrated thresholds; exits 1 on a regression beyond the tolerance.",
    )
    p.add_argument("--router", required=True, type=Path, metavar="ROUTER", help="router file")
    p.add_argument(
        "--outcomes", required=True, nargs="+", type=Path, metavar="FILE", help="new outcomes"
    )
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="the outcomes the router was trained on (only for router files without a record)",
    )
    p.add_argument(
        "--tolerance", type=float, default=TOLERANCE, help="quality drop allowed (default 0.02)"
    )
    p.add_argument(
        "--target",
        type=float,
        action="append",
        metavar="SHARE",
        help="share targets to check (repeatable; default 0.9 0.95 1)",
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="CFG",
        help="also check the target of every route of this configuration that uses ROUTER",
    )
    p.add_argument("--recalibrate", type=Path, metavar="OUT", help="write the recalibrated router")
    p.add_argument("--report", type=Path, metavar="DIR", help="write check.txt, .json, .png")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    router = artifact.load(args.router)
    record = _record(args)
    new = concat([load_outcomes(p) for p in args.outcomes])
    targets = list(args.target or ([] if args.config else TARGETS)) + _route_targets(args)
    if not targets:
        raise ConfigError(f"{args.config}: no route uses {args.router} with a share target")
    result = check(router, record, new, args.tolerance, tuple(dict.fromkeys(targets)))
    if args.recalibrate:
        head = artifact.header(args.router)
        metrics = dict(head.get("metrics") or {}) | {"recalibrated_on": new.fingerprint}
        artifact.save(
            recalibrated(router, result.calibration, result.offsets),
            args.recalibrate,
            fingerprint=head.get("fingerprint", ""),
            metrics=metrics,
            record=record,
        )
    written = report.write(result, args.report) if args.report else []
    if args.json:
        console.print_json(report.as_dict(result) | {"report": [str(p) for p in written]})
    else:
        console.out.print(report.text(result), highlight=False, markup=False, end="")
        for path in written:
            console.err.print(f"wrote {path}", highlight=False)
    return REGRESSION if result.regressed else 0


def _route_targets(args: argparse.Namespace) -> list[float]:
    """Share targets of the configured routes that serve this router file."""
    if args.config is None:
        return []
    shares = []
    for name, route in load_config(args.config).routes.items():
        if route.router == "coldstart" or Path(route.router).resolve() != args.router.resolve():
            continue
        target = parse_target(route.target)
        if target.kind == "share":
            shares.append(target.value)
            console.err.print(f"route {name}: target {target}", highlight=False, soft_wrap=True)
        else:
            console.err.print(
                f"route {name}: target {target} is not a share of best single's quality, "
                "which is the promise check can hold a router to; not checked",
                highlight=False,
                soft_wrap=True,
            )
    return shares


def _record(args: argparse.Namespace) -> Record:
    found = artifact.load_record(args.router)
    if args.baseline is not None:
        return Record.of(load_outcomes(args.baseline))
    if found is None:
        raise ArtifactError(
            f"{args.router}: this router file predates training records; pass the outcomes it "
            "was trained on with --baseline FILE (or retrain it)"
        )
    return found
