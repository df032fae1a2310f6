"""The gateway's added latency with the ledger on and off, measured side by side. Prints JSON.

    python bench/ledger_latency.py [--seconds 2] [--rounds 3] [--rates 200,500] [--no-pin]

Four processes against one fake upstream (``tests.fakes.upstream``, answering at once):
``direct`` (the fake itself), ``ledger_on`` (``slicewise serve``, SQLite ledger written by
its child process, the default), ``ledger_thread`` (the same, written by a thread of the
gateway's process: ``ledger.writer: thread``) and ``ledger_off`` (``ledger.enabled: false``).
Each round runs, for concurrency 1 then 16 (closed loops: ``load``) and then for each rate
in ``--rates`` (requests per second, open loop: ``load.paced``), a phase of ``--seconds`` per
target in turn, so machine noise hits all alike. A closed loop at 16 saturates the gateway's
core, so there the ledger's CPU shows as latency and lost throughput; the paced phases are a
gateway with room to spare, as one is run. Non-streaming requests; ``added_*`` is the target's
percentile minus the fake's, same phase. Pinning (unless ``--no-pin``): the gateways on core 1
(they never run at once; the ledger's writer process inherits it), client and fake on 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import uvloop

from load import KEY, load, paced, request_bytes
from servers import MODELS, Server, free_port, launch, slicewise_config, stop_servers, wait_ready

TARGETS = ("direct", "ledger_on", "ledger_thread", "ledger_off")
CONCURRENCY = (1, 16)


def start(tmp: Path, pin: bool) -> dict[str, Server]:
    ports = {target: free_port() for target in TARGETS}
    upstream = f"http://127.0.0.1:{ports['direct']}/v1"
    for target in TARGETS[1:]:
        config = slicewise_config(upstream, tmp / target)
        config["ledger"]["enabled"] = target != "ledger_off"
        config["ledger"]["writer"] = "thread" if target == "ledger_thread" else "process"
        (tmp / target).mkdir()
        (tmp / f"{target}.yaml").write_text(json.dumps(config))
    servers = {}
    for target in TARGETS:
        command = ["slicewise", "serve", "--config", str(tmp / f"{target}.yaml")]
        if target == "direct":
            command = [sys.executable, "-m", "tests.fakes.upstream", "--latency-ms", "0"]
        core = None if not pin else (0 if target == "direct" else 1)
        env = {} if target == "direct" else {"BENCH_KEY": KEY}
        command += ["--port", str(ports[target])]
        process, log = launch(target, command, tmp, env, core)
        model = MODELS[0] if target == "direct" else "auto"
        servers[target] = Server(target, process, ports[target], model, log)
    for server in servers.values():
        wait_ready(server)
    return servers


def measure(
    servers: dict[str, Server], seconds: float, rounds: int, rates: list[float]
) -> dict[str, Any]:
    latencies: dict[tuple[str, str], list[float]] = {}
    errors = 0
    phases = [f"concurrency_{c}" for c in CONCURRENCY] + [f"rate_{r:g}" for r in rates]
    for _ in range(rounds):
        for phase in phases:
            for target, server in servers.items():
                payload = request_bytes(server.port, server.model, "plain")
                kind, value = phase.split("_")
                if kind == "concurrency":
                    run = load(server.port, payload, int(value), seconds)
                else:
                    run = paced(server.port, payload, float(value), seconds)
                found = uvloop.run(run)
                latencies.setdefault((target, phase), []).extend(found.latency)
                errors += sum(found.errors.values())
    return {"errors": errors, **{phase: summary(latencies, phase) for phase in phases}}


def summary(latencies: dict[tuple[str, str], list[float]], phase: str) -> dict[str, Any]:
    ms = {t: np.percentile(latencies[(t, phase)], [50, 99]) * 1000 for t in TARGETS}
    row: dict[str, Any] = {}
    for target in TARGETS:
        p50, p99 = ms[target]
        row[target] = {
            "requests": len(latencies[(target, phase)]),
            "p50_ms": round(p50, 3),
            "p99_ms": round(p99, 3),
        }
        if target != "direct":
            row[target]["added_p50_ms"] = round(p50 - ms["direct"][0], 3)
            row[target]["added_p99_ms"] = round(p99 - ms["direct"][1], 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rates", default="200,500", help="paced phases, requests per second")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    if not args.no_pin:
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="slicewise-ledger-bench-") as name:
        servers = start(Path(name), not args.no_pin)
        try:
            rates = [float(r) for r in args.rates.split(",") if r]
            results = measure(servers, args.seconds, args.rounds, rates)
            results["ledger_rows"] = {t: _rows(Path(name) / t) for t in TARGETS[1:]}
        finally:
            stop_servers(servers)
    sys.stdout.write(json.dumps(results, indent=2) + "\n")


def _rows(directory: Path) -> int:
    with sqlite3.connect(directory / "ledger.db") as db:
        count: int = db.execute("SELECT count(*) FROM transactions").fetchone()[0]
    return count


if __name__ == "__main__":
    main()
