"""``slicewise serve``: the OpenAI- and Anthropic-compatible gateway."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from slicewise.config import load_config
from slicewise.errors import ConfigError


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "serve",
        help="run the gateway",
        description="Serve /v1/chat/completions, /v1/messages, /v1/models and /v1/route. "
        "Without --config: the local slice, every provider whose key is in the environment, "
        "and a SQLite ledger.",
    )
    p.add_argument("--config", metavar="FILE", help="YAML configuration")
    p.add_argument("--host", help="address to listen on (default from config, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default from config, 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from slicewise.gateway.serve import serve

    config = load_config(args.config)
    if config.empty():
        raise ConfigError(f"{args.config}: {config.empty()}")
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    source = args.config or "the embedded default"
    where = f"http://{host}:{port}"
    print(f"slicewise: serving {source} on {where} (Ctrl-C stops)", file=sys.stderr, flush=True)
    serve(args.config, host, port, args.workers, "info" if args.verbose else "warning")
    return 0
