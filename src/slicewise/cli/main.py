"""Entry point: parse the command line, run one command, turn user mistakes into messages.

Each command lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from slicewise import __version__
from slicewise.cli import batch as batch_cmd
from slicewise.cli import check as check_cmd
from slicewise.cli import config as config_cmd
from slicewise.cli import eval as eval_cmd
from slicewise.cli import keys as keys_cmd
from slicewise.cli import models as models_cmd
from slicewise.cli import policy as policy_cmd
from slicewise.cli import prices as prices_cmd
from slicewise.cli import profile as profile_cmd
from slicewise.cli import report as report_cmd
from slicewise.cli import route as route_cmd
from slicewise.cli import serve as serve_cmd
from slicewise.cli import train as train_cmd
from slicewise.errors import SlicewiseError

COMMANDS = (
    serve_cmd,
    train_cmd,
    route_cmd,
    eval_cmd,
    config_cmd,
    report_cmd,
    keys_cmd,
    models_cmd,
    prices_cmd,
    policy_cmd,
    profile_cmd,
    check_cmd,
    batch_cmd,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="slicewise",
        description="Send each LLM request to the cheapest model that will do it well.",
    )
    top.add_argument("--version", action="version", version=f"slicewise {__version__}")
    top.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.run(args)
    except SlicewiseError as exc:
        print(f"slicewise: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slicewise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (e.g. `| head`)
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
