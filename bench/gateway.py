"""Gateway overhead: slicewise and the LiteLLM proxy side by side, against a fake upstream.

    python bench/gateway.py            # about 3.5 minutes; one JSON object on stdout
    python bench/gateway.py --quick    # about 30 s: one round of 1 s phases, concurrency 1, 16
    python bench/gateway.py --profile  # and then py-spy on slicewise (+25 s): ms by layer

Three targets answer the same POST /v1/chat/completions: ``direct`` (the fake upstream of
``tests.fakes.upstream``, answering at once), ``slicewise`` (``slicewise serve``, ``model="auto"``
over three OpenAI-compatible models at the fake, cold-start router, SQLite ledger in a temp dir)
and ``litellm`` (its proxy, the same three models as one model group ``auto``). Each phase is
one (mode, concurrency, target) for ``--seconds``; the phases of a round run target after target
for each mode and concurrency, and the rounds repeat, so machine noise hits every target alike.

- Modes: ``plain`` (non-streaming), ``stream`` (20 SSE chunks: the fake echoes the prompt word by
  word and ``max_tokens`` cuts it), ``stream_long`` (80 chunks, slicewise only: the slope between
  the two stream modes is the cost of one more chunk, with request and routing held fixed).
- Client: a lean uvloop + httptools client in this process, one keep-alive connection per unit
  of concurrency, closed loop; a phase stops issuing after ``--seconds`` and waits for the
  requests in flight, so every request whose CPU is counted is also counted as a request.
- Latency: from writing the request to the end of the response (``first_chunk`` for streams:
  to its first body bytes); ``added`` = target minus direct, same mode and concurrency.
- CPU: utime + stime of the server's process tree from /proc (children included), before and
  after each phase; the client's own CPU is not in it. ``upstream_cpu`` is the fake's.
- Pinning (unless ``--no-pin``): the server under test on core 1, the client and the fake on
  core 0, so a proxy gets one core whatever it would take, and the client cannot crowd it.

Known shortcomings: the machine is shared, so absolute numbers drift between runs; compare the
ratios, which are measured side by side. LiteLLM runs with its defaults (access log on), as a
user would run it; slicewise runs as ``slicewise serve`` does.

The code: ``servers`` starts the processes, ``load`` is the client, ``phases`` runs and measures
one phase, ``report`` sums the phases up, ``profiling`` runs py-spy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from load import CHUNKS, probe
from phases import idle_cpu, run_phase, schedule
from profiling import Spied, profile
from report import overhead_per_chunk, report, targets
from servers import LITELLM, TARGETS, Server, start_servers, stop_servers


def main() -> None:
    args = parse_args()
    if not LITELLM.exists():
        raise SystemExit(f"the LiteLLM proxy is expected at {LITELLM}")
    if not args.no_pin:
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="slicewise-bench-") as name:
        tmp = Path(name)
        servers = start_servers(tmp, not args.no_pin)
        try:
            print(json.dumps(run(servers, args, tmp), indent=1))
        finally:
            stop_servers(servers)


def run(servers: dict[str, Server], args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    started, load_before = time.monotonic(), os.getloadavg()
    chunks = check(servers)
    for target in TARGETS:  # warm up: imports, pools, caches
        for mode in ("plain", "stream"):
            run_phase(servers, target, mode, 16, args.warmup)
    idle = idle_cpu(servers)
    phases = []
    for mode, c, target in schedule(args.concurrency, args.rounds):
        phases.append(run_phase(servers, target, mode, c, args.seconds))
        note(f"{mode:11} c={c:<3} {target:9} {len(phases[-1].load.latency):6} requests")
    results = report(phases)
    per_chunk = overhead_per_chunk(results)
    out = {
        "settings": settings(args, chunks, load_before),
        "idle_cpu_ms_per_s": idle,
        "results": results,
        "stream_overhead_us_per_chunk": per_chunk,
        "targets": targets(results, per_chunk),
    }
    if args.profile:
        at = 16 if 16 in args.concurrency else args.concurrency[-1]
        unprofiled = {
            m: results[m][str(at)]["slicewise"]["cpu_ms_per_request"] for m in ("plain", "stream")
        }
        spied = Spied(at, args.profile_seconds, unprofiled)
        out["profile"] = profile(servers, spied, tmp, not args.no_pin)
    out["settings"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    out["settings"]["wall_s"] = round(time.monotonic() - started, 1)
    return out


def check(servers: dict[str, Server]) -> dict[str, dict[str, Any]]:
    """Each target answers each mode with 200; what each streamed, and where slicewise routed."""
    seen: dict[str, dict[str, Any]] = {}
    for target, server in servers.items():
        for mode in ("plain", *CHUNKS):
            status, chunks, headers = probe(server.port, server.model, mode)
            if status != 200:
                raise SystemExit(f"{target} answered {mode} with {status}")
            if chunks != CHUNKS.get(mode, 0):
                raise SystemExit(f"{target} streamed {chunks} chunks for {mode}, not {CHUNKS}")
            seen.setdefault(target, {})[f"{mode}_chunks"] = chunks
            if target == "slicewise":
                seen[target][f"{mode}_routed_to"] = headers.get("x-slicewise-model")
    return seen


def settings(args: argparse.Namespace, chunks: Any, load_before: Any) -> dict[str, Any]:
    return {
        "rounds": args.rounds,
        "seconds_per_phase": args.seconds,
        "concurrency": args.concurrency,
        "pinning": "none"
        if args.no_pin
        else "server under test on core 1; client, fake upstream, py-spy on core 0",
        "client": "uvloop + httptools, one keep-alive connection per unit of concurrency",
        "sse_chunks_seen": chunks,
        "cores": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
    }


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 round of 1 s, concurrency 1 and 16")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0, help="per phase")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds per target and mode")
    p.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64]
    )
    p.add_argument("--no-pin", action="store_true", help="let the OS place the processes")
    p.add_argument("--profile", action="store_true", help="py-spy slicewise afterwards")
    p.add_argument("--profile-seconds", type=float, default=8.0)
    args = p.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.concurrency = 1, 1.0, 0.5, [1, 16]
        args.profile_seconds = min(args.profile_seconds, 3.0)
    return args


if __name__ == "__main__":
    main()
