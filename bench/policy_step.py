"""The policy step's CPU per request, and what it adds to the gateway's CPU per request.

    python bench/policy_step.py            # the step, in process, on the shared routing prompts
    python bench/policy_step.py --gateway  # and slicewise serve with and without policies (+40 s)

``step``: the exact work the gateway does per request when policies are configured (the
declared class checked, every message run through the detector, user and tool messages scored
for injection, rules applied, redaction when a rule says so), timed with the thread's CPU clock
on each prompt of ../shared/data (llmrouter and routerbench dev files) under 2,000 tokens
(8,000 characters); p50/p90/p99 in microseconds (also for those over 2,000 characters), and
the detector's and the scorer's share. The policies are ``POLICIES`` below: a typical set
(regulated and confidential data to self-hosted models, secrets redacted, injection flagged).

``gateway`` (with ``--gateway``): the fake upstream and two ``slicewise serve`` processes, the
second with ``POLICIES``, driven in turn by bench/gateway.py's client on the same ~100-word
prompt; CPU ms per request of each server process tree, the difference, at concurrency 1 and 16.
Needs no LiteLLM. Without ../shared/data the step part says so and is skipped.

Prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SLICEWISE_DATA", ROOT.parent / "shared" / "data"))
MAX_CHARS = 8000

SECRETS = ["API_KEY", "PASSWORD", "PRIVATE_KEY"]
POLICIES: dict[str, Any] = {
    "rules": [
        {"name": "regulated-local", "classes": ["regulated"], "where": {"self_hosted": True}},
        {"name": "confidential-local", "classes": ["confidential"], "where": {"self_hosted": True}},
        {"name": "mask", "classes": ["confidential"], "action": "redact", "kinds": SECRETS},
    ],
    "injection": {"action": "flag", "threshold": 0.5},
}


def main() -> None:
    args = parse_args()
    prompts = load_prompts(args.limit)
    if prompts:
        print(json.dumps(step(prompts)))
    else:
        print(json.dumps({"step": "skipped", "why": f"no routing prompts under {DATA}"}))
    if args.gateway:
        for line in gateway(args.seconds):
            print(json.dumps(line))


def load_prompts(limit: int) -> list[list[dict[str, str]]]:
    found = []
    for name in ("llmrouter", "routerbench"):
        path = DATA / name / "dev.jsonl"
        if not path.exists():
            continue
        for line in path.read_bytes().split(b"\n")[:limit]:
            if not line.strip():
                continue
            messages = json.loads(line)["messages"]
            if sum(len(m.get("content") or "") for m in messages) <= MAX_CHARS:
                found.append(messages)
    return found


def step(prompts: list[list[dict[str, str]]]) -> dict[str, Any]:
    from slicewise.chat import ChatRequest, Message
    from slicewise.config.load import validate

    config = validate(bench_config("http://127.0.0.1:9/v1", Path("unused")), {}, "bench")
    from slicewise.policy.rules import from_config

    policies = from_config(config)
    assert policies is not None
    requests = []
    for messages in prompts:
        turns = tuple(Message(m["role"], m["content"]) for m in messages)  # type: ignore[arg-type]
        requests.append(ChatRequest("auto", turns))
    for request in requests[:200]:  # warm up
        policies.apply(request, policies.declared(None, request.metadata))
    total, detect, score = [], [], []
    for request in requests:
        started = time.thread_time_ns()
        policies.apply(request, policies.declared(None, request.metadata))
        total.append(time.thread_time_ns() - started)
        started = time.thread_time_ns()
        for message in request.messages:
            policies.detector.find(message.content or "")
        detect.append(time.thread_time_ns() - started)
        started = time.thread_time_ns()
        for message in request.messages:
            if message.role in ("user", "tool"):
                policies.scorer.score(message.content or "")
        score.append(time.thread_time_ns() - started)
    chars = [sum(len(m.content or "") for m in r.messages) for r in requests]
    long = [t for t, c in zip(total, chars, strict=True) if c >= 2000]
    return {
        "step": "policy step, in process",
        "prompts": len(requests),
        "chars_p50": int(statistics.median(chars)),
        "us": percentiles(total),
        "long_prompts": len(long),
        "long_us": percentiles(long) if len(long) > 1 else None,
        "detector_us": percentiles(detect),
        "scorer_us": percentiles(score),
        "target_p50_us": 300,
        "met": statistics.median(total) / 1000 <= 300,
    }


def percentiles(ns: list[int]) -> dict[str, float]:
    cuts = statistics.quantiles(ns, n=100)
    return {
        "p50": round(statistics.median(ns) / 1000, 1),
        "p90": round(cuts[89] / 1000, 1),
        "p99": round(cuts[98] / 1000, 1),
    }


def bench_config(upstream: str, tmp: Path, policies: bool = True) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).parent))
    from servers import slicewise_config

    config = slicewise_config(upstream, tmp)
    config["models"][0]["attributes"] = {"self_hosted": True}
    if policies:
        config["policies"] = POLICIES
    return config


def gateway(seconds: float) -> list[dict[str, Any]]:
    sys.path.insert(0, str(Path(__file__).parent))
    import uvloop

    from load import KEY, load, request_bytes
    from phases import settled_cpu, tree_cpu
    from servers import Server, free_port, launch, stop_servers, wait_ready

    out = []
    with tempfile.TemporaryDirectory(prefix="slicewise-policy-") as name:
        tmp = Path(name)
        ports = {t: free_port() for t in ("direct", "off", "on")}
        upstream = f"http://127.0.0.1:{ports['direct']}/v1"
        servers: dict[str, Server] = {}
        commands = {"direct": [sys.executable, "-m", "tests.fakes.upstream"]}
        for target in ("off", "on"):
            (tmp / target).mkdir()
            config = bench_config(upstream, tmp / target, policies=target == "on")
            (tmp / f"{target}.yaml").write_text(json.dumps(config))
            commands[target] = ["slicewise", "serve", "--config", str(tmp / f"{target}.yaml")]
        try:
            for target, command in commands.items():
                process, log = launch(
                    target, [*command, "--port", str(ports[target])], tmp, {"BENCH_KEY": KEY}, None
                )
                model = "gpt-4o-mini" if target == "direct" else "auto"
                servers[target] = Server(target, process, ports[target], model, log)
            for server in servers.values():
                wait_ready(server)
            for concurrency in (1, 16):
                cpu: dict[str, float] = {}
                for target in ("off", "on", "on", "off"):  # ABBA: a drift cancels
                    server = servers[target]
                    payload = request_bytes(server.port, "auto", "plain")
                    before = tree_cpu(server.process.pid)
                    result = uvloop.run(load(server.port, payload, concurrency, seconds))
                    used = settled_cpu(server.process.pid) - before
                    cpu.setdefault(target, 0.0)
                    cpu[target] += used * 1000 / max(1, len(result.latency)) / 2
                out.append(
                    {
                        "step": "gateway CPU ms per request, plain, same prompt",
                        "concurrency": concurrency,
                        "without_policies": round(cpu["off"], 3),
                        "with_policies": round(cpu["on"], 3),
                        "added_ms": round(cpu["on"] - cpu["off"], 3),
                    }
                )
        finally:
            stop_servers(servers)
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gateway", action="store_true", help="also slicewise serve with/without")
    p.add_argument("--seconds", type=float, default=4.0, help="per gateway phase")
    p.add_argument("--limit", type=int, default=3000, help="prompts per data file")
    return p.parse_args()


if __name__ == "__main__":
    main()
