"""``slicewise batch run``: a JSONL file of requests through the router, resumably."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from slicewise.cli import console
from slicewise.cli.values import usd
from slicewise.config import load_config
from slicewise.errors import ConfigError


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "batch",
        help="run a file of requests (OpenAI batch format), resumably",
        description="Route and run every line of an OpenAI batch input file. Rerunning the "
        "same command after a crash or Ctrl-C skips what is done and never calls a custom_id "
        "that may already have been paid.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = actions.add_parser(
        "run",
        help="run a batch input file",
        description="Lines: custom_id, method POST, url /v1/chat/completions, body. Writes "
        "answers to OUTPUT.jsonl, failures to OUTPUT.failures.jsonl and progress to "
        "OUTPUT.jsonl.journal; run the same command again to resume.",
    )
    r.add_argument("input", type=Path, metavar="INPUT.jsonl")
    r.add_argument("--out", type=Path, required=True, metavar="OUTPUT.jsonl", help="answers")
    r.add_argument("--config", metavar="FILE", help="YAML configuration (providers, routes)")
    r.add_argument("--route", metavar="ROUTE", help="send every line to this route or model")
    r.add_argument(
        "--concurrency", type=int, default=64, metavar="N", help="calls in flight (default 64)"
    )
    r.add_argument("--max-cost", type=usd, metavar="USD", help="stop before the job spends more")
    r.add_argument(
        "--retry-in-doubt",
        action="store_true",
        help="call again the requests a crash left in flight (the provider may bill them twice)",
    )
    r.add_argument(
        "--deferred", action="store_true", help="submit to the providers' batch APIs (50%% off)"
    )
    r.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: calls spread over a Ray cluster",
    )
    r.add_argument("--address", metavar="ADDR", help="Ray cluster address (--engine ray)")
    r.add_argument(
        "--poll",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="between polls of provider batches (--deferred; default 30)",
    )
    r.add_argument("--tenant", default="batch", help="tenant of the ledger rows (default batch)")
    r.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    r.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slicewise.batch import api
    from slicewise.batch.progress import render

    if args.concurrency < 1:
        raise ConfigError(f"--concurrency {args.concurrency}: use 1 or more")
    if not args.input.is_file():
        raise ConfigError(f"{args.input}: no such input file")
    if args.out.resolve() == args.input.resolve():
        raise ConfigError("--out must not be the input file")
    options = api.Options(
        args.input,
        args.out,
        args.route,
        args.concurrency,
        args.max_cost,
        args.retry_in_doubt,
        args.tenant,
    )
    config = load_config(args.config)
    found = api.run_loop(
        api.run_job(options, config, args.engine, args.deferred, args.address, args.poll)
    )
    for line in found.get("invalid_lines", [])[:20]:
        print(line, file=sys.stderr)
    if args.json:
        console.print_json(found)
    else:
        print(render(found, str(args.out), found["failures_file"]), file=sys.stderr)
    return 0 if not found["failed"] and not found["invalid"] else 1
