"""``slicewise route``: explain one decision, or route a file of prompts."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
from rich.table import Table

from slicewise.cli import console
from slicewise.errors import ConfigError
from slicewise.features import prompt_text
from slicewise.outcomes import Prompt, iter_prompts
from slicewise.routing import artifact
from slicewise.routing.cascade import CascadeRouter, Decisions
from slicewise.routing.router import Router
from slicewise.routing.target import Target, parse_target

CHUNK = 2048


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "route",
        help="explain one routing decision, or route a file of prompts",
        description="Explain the decision for one prompt, or route every prompt of a JSONL file "
        "(lines with id and messages) at a target or at K operating points. A cascade router "
        "reads each line's responses (model -> recorded answer text) and writes calls (models "
        "called, per stage) and accepted (the model whose answer is returned): one of each "
        "with --target, a list of K with --sweep K.",
    )
    p.add_argument("prompt", nargs="?", help="a prompt to explain (instead of --input)")
    p.add_argument(
        "--router",
        required=True,
        type=Path,
        metavar="ROUTER",
        help="a router file from `slicewise train`",
    )
    p.add_argument("--input", type=Path, metavar="PROMPTS", help="JSONL with id and messages")
    p.add_argument("--out", type=Path, metavar="CHOICES", help="where to write the choices")
    knob = p.add_mutually_exclusive_group()
    knob.add_argument(
        "--sweep",
        type=int,
        metavar="K",
        help="write the model chosen at K operating points, cheapest first",
    )
    knob.add_argument(
        "--target",
        type=_target,
        metavar="TARGET",
        help="share of best single's quality (0.95), or quality=, max_cost=, wtp=",
    )
    p.add_argument("--json", action="store_true", help="print the explanation as JSON")
    p.set_defaults(run=run)


def _target(text: str) -> Target:
    try:
        return parse_target(text)
    except ConfigError as exc:  # argparse prints it with the usage line
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    router = artifact.load(args.router)
    if args.prompt is not None:
        if args.input is not None or args.sweep is not None:
            raise ConfigError("give either a prompt to explain or --input with --out, not both")
        return _explain(router, args.prompt, args.target, args.json)
    if args.input is None or args.out is None:
        raise ConfigError("route needs a prompt to explain, or --input PROMPTS and --out CHOICES")
    if args.sweep is not None and args.sweep < 1:
        raise ConfigError(f"--sweep {args.sweep}: K must be at least 1")
    with args.out.open("wb") as sink:
        count = route_file(router, iter_prompts(args.input), sink, args.sweep, args.target)
    console.err.print(f"routed {count} prompts to {args.out}")
    return 0


def route_file(
    router: Router,
    prompts: Iterator[Prompt],
    sink: BinaryIO,
    sweep: int | None,
    target: Target | None,
) -> int:
    """Route prompts in chunks and write one JSON line each; returns the count."""
    if isinstance(router, CascadeRouter):
        return _route_cascades(router, prompts, sink, sweep, target)
    knobs = None if sweep is None else [Target("wtp", w) for w in _sweep(router, sweep)]
    count = 0
    while chunk := list(islice(prompts, CHUNK)):
        quality, cost = router.predict([prompt_text(p.messages) for p in chunk])
        if knobs is None:
            choice = router.choose(quality, cost, target or Target("share", 1.0))
            lines = [
                {"id": p.id, "model": router.models[c]} for p, c in zip(chunk, choice, strict=True)
            ]
        else:
            picks = np.stack([router.choose(quality, cost, k) for k in knobs], axis=1)
            lines = [
                {"id": p.id, "models": [router.models[c] for c in row]}
                for p, row in zip(chunk, picks.tolist(), strict=True)
            ]
        sink.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))
        count += len(chunk)
    return count


def _route_cascades(
    router: CascadeRouter,
    prompts: Iterator[Prompt],
    sink: BinaryIO,
    sweep: int | None,
    target: Target | None,
) -> int:
    """Cascade decisions on recorded replies: per line ``calls`` (models per stage) and
    ``accepted`` (whose answer is returned), one of each per operating point with ``--sweep``,
    else one for the target."""
    knobs = [target] if sweep is None else [Target("wtp", w) for w in router.sweep(sweep)]
    count = 0
    while chunk := list(islice(prompts, CHUNK)):
        batch = router.prepare(
            [prompt_text(p.messages) for p in chunk], [p.responses for p in chunk]
        )
        runs = [router.decide(batch, knob) for knob in knobs]
        lines = [
            _cascade_line(router, p.id, row, runs, sweep is None) for row, p in enumerate(chunk)
        ]
        sink.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))
        count += len(chunk)
    return count


def _cascade_line(
    router: CascadeRouter, key: str, row: int, runs: list[Decisions], single: bool
) -> dict[str, Any]:
    names = router.models
    calls = [[[names[m] for m in stage] for stage in run.calls(row)] for run in runs]
    accepted = [names[int(run.accepted[row])] for run in runs]
    if single:
        return {"id": key, "calls": calls[0], "accepted": accepted[0]}
    return {"id": key, "calls": calls, "accepted": accepted}


def _sweep(router: Router, points: int) -> list[float]:
    if router.calibration is None:
        raise ConfigError("this router has no calibration; retrain it with `slicewise train`")
    return router.calibration.sweep(points)


def _explain(router: Router, text: str, target: Target | None, as_json: bool) -> int:
    route = router.route((("user", text),), target)
    if as_json:
        console.print_json(
            {
                "model": route.model,
                "router": route.router,
                "reason": route.reason,
                "candidates": [c.__dict__ for c in route.candidates],
            }
        )
        return 0
    table = Table(title=f"route: {route.model}", caption=route.reason)
    for column in ("model", "predicted quality", "predicted cost (USD)", ""):
        table.add_column(column, justify="left" if column == "model" else "right")
    for c in sorted(route.candidates, key=lambda c: np.inf if c.cost is None else c.cost):
        cost = "unknown" if c.cost is None else f"{c.cost:.6f}"
        mark = "chosen" if c.model == route.model else c.note
        table.add_row(c.model, f"{c.quality:.3f}", cost, mark)
    console.out.print(table)
    return 0
