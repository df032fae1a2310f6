"""``slicewise profile``: run a probe set through a live model and write its outcomes.

Exit codes: 0 every probe has an outcome for the model; 3 the run stopped early (``--max-cost``
reached or some calls failed) and the same command resumes it; 2 a usage or data error.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from slicewise.cli import console
from slicewise.cli.values import usd
from slicewise.config import Config
from slicewise.config.load import load_config
from slicewise.errors import ConfigError
from slicewise.gateway import catalog as catalogs
from slicewise.upkeep.probes import load_probes
from slicewise.upkeep.profile import Endpoint, Run, Settings, Summary

INCOMPLETE = 3


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "profile",
        help="run a probe set through a live model and grade it",
        description="Send each probe to MODEL through the configured provider, grade the "
        "answer, and write outcomes (score, real cost and tokens). Rerunning resumes.",
    )
    p.add_argument("model", metavar="MODEL", help="provider/model, as in the configuration")
    p.add_argument("--probes", required=True, type=Path, metavar="FILE", help="probe set JSONL")
    p.add_argument("--out", required=True, type=Path, metavar="OUTCOMES", help="outcomes JSONL")
    p.add_argument("--config", type=Path, default=None, help="configuration (default embedded)")
    p.add_argument("--judge", metavar="MODEL", help="provider/model for judge-graded probes")
    p.add_argument("--max-cost", type=usd, default=None, metavar="USD", help="stop before this")
    p.add_argument("--concurrency", type=int, default=4, help="calls in flight (default 4)")
    p.add_argument("--max-tokens", type=int, default=256, help="per answer (default 256)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per call (default 120)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    probes = load_probes(args.probes)
    if not args.out.resolve().parent.is_dir():
        raise ConfigError(f"{args.out}: its folder does not exist; create it or pick another")
    if any(p.grader == "judge" for p in probes) and not args.judge:
        raise ConfigError(
            f"{args.probes}: some probes use the judge grader; name a judge with --judge MODEL"
        )
    settings = Settings(args.max_tokens, args.timeout, args.concurrency, args.max_cost)
    config = load_config(args.config)
    summary = asyncio.run(_profile(config, args, probes, settings))
    return _report(summary, args)


async def _profile(
    config: Config, args: argparse.Namespace, probes: Any, settings: Settings
) -> Summary:
    names = [args.model] + ([args.judge] if args.judge else [])
    catalog = await catalogs.build(_only(config, names))
    try:
        target = _endpoint(catalog, args.model)
        judge = _endpoint(catalog, args.judge) if args.judge else None
        profile = Run(target, probes, args.out, settings, judge, _progress)
        _announce(profile, args)
        return await profile.go()
    finally:
        await catalog.aclose()


def _only(config: Config, names: list[str]) -> Config:
    """The configuration cut down to the providers of ``names``: no routes, no discovery."""
    wanted = {n.partition("/")[0] for n in names}
    missing = sorted(wanted - set(config.providers))
    if missing:
        raise ConfigError(
            f"provider {', '.join(missing)} is not configured; configured providers: "
            f"{', '.join(config.providers) or 'none'} (pass --config, or set the vendor's key)"
        )
    providers = {
        n: p.model_copy(update={"discover": False})
        for n, p in config.providers.items()
        if n in wanted
    }
    models = tuple(m for m in config.models if m.provider in wanted)
    return config.model_copy(update={"providers": providers, "models": models, "routes": {}})


def _endpoint(catalog: catalogs.Catalog, name: str) -> Endpoint:
    model = catalog.model(name)
    if model is None:
        raise ConfigError(f"model {name!r} is not known; write it provider/model")
    if not model.priced:
        raise ConfigError(
            f"model {name!r} has no known price, so its outcomes would have no cost; add "
            "input_usd_per_mtok and output_usd_per_mtok for it under models in the configuration"
        )
    return Endpoint(model, catalog.providers[model.provider])


def _announce(profile: Run, args: argparse.Namespace) -> None:
    todo, total = len(profile.todo), profile.summary.probes
    expected = profile.expected()
    cost = "unknown (a price is missing)" if expected is None else f"at most ${expected:.4f}"
    cap = "" if args.max_cost is None else f"; stops before ${args.max_cost}"
    console.err.print(
        f"profiling {args.model} on {todo} of {total} probes "
        f"({total - todo} already in {args.out}); expected cost {cost}{cap}",
        highlight=False,
        soft_wrap=True,
    )


def _progress(line: str) -> None:
    console.err.print(line, highlight=False, markup=False, soft_wrap=True)


def _report(summary: Summary, args: argparse.Namespace) -> int:
    result = summary.as_dict() | {"out": str(args.out)}
    if args.json:
        console.print_json(result)
    else:
        mean = result["mean_score"]
        console.out.print(
            f"{summary.model}: {summary.profiled} probes profiled, {summary.failed} failed, "
            f"mean score {'n/a' if mean is None else f'{mean:.3f}'}, spent ${summary.spent:.6f}; "
            f"outcomes in {args.out}",
            highlight=False,
            soft_wrap=True,
        )
    if summary.stopped_at_cost:
        done = summary.already + summary.profiled
        console.err.print(
            f"stopped at --max-cost ${args.max_cost} after {done} of {summary.probes} probes; "
            "rerun the same command (with a higher --max-cost) to go on from there",
            highlight=False,
            soft_wrap=True,
        )
    return 0 if summary.complete else INCOMPLETE
