"""Added latency of a live two-stage cascade against a direct call to its final model.

The gateway and a scripted fake upstream run in this process (loopback), the upstream
answering every call after a fixed latency. Three kinds of request, interleaved, one at a time:
a direct call to the cascade's final model; a cascade whose first stage agrees (accepted after
stage 1); a cascade whose first stage disagrees (escalated to stage 2). Prints one JSON object.

    python bench/cascade.py [--latency-ms 50] [--requests 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import write_jsonl  # noqa: E402
from tests.fakes.upstream import FakeUpstream, ok  # noqa: E402
from tests.gateway.conftest import test_config  # noqa: E402
from tests.gateway.server import GatewayServer  # noqa: E402
from tests.gateway.test_cascade_live import NAMES, QUESTION, UPSTREAM  # noqa: E402
from tests.routing.test_cascade import cascade_rows  # noqa: E402

from slicewise.config.load import validate  # noqa: E402
from slicewise.outcomes import load_outcomes  # noqa: E402
from slicewise.routing import artifact  # noqa: E402
from slicewise.routing.train import Settings, train  # noqa: E402


def cascade_router(folder: Path) -> Path:
    table = load_outcomes(write_jsonl(folder / "fit.jsonl", cascade_rows(600)))
    path = folder / "cascade.safetensors"
    artifact.save(train(table, Settings(kind="cascade", features="tfidf", folds=3)), path)
    return path


def timed(client: httpx.Client, model: str) -> tuple[float, str]:
    body = {"model": model, "messages": [{"role": "user", "content": QUESTION}]}
    started = time.perf_counter()
    reply = client.post("/v1/chat/completions", json=body)
    reply.raise_for_status()
    return (time.perf_counter() - started) * 1e3, reply.headers.get("x-slicewise-calls", "")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="slicewise-cascade-bench-"))
    router = cascade_router(folder)
    samples: dict[str, list[float]] = {"direct": [], "accepted": [], "escalated": []}
    with FakeUpstream() as fake:
        fake.latency_ms = args.latency_ms
        raw = test_config(
            fake,
            folder / "ledger.db",
            routes={"maths": {"router": str(router), "target": "0.95", "aliases": NAMES}},
        )
        with (
            GatewayServer(validate(raw, {}, "bench"), {"TEST_KEY": "x"}) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            stages = client.post(
                "/v1/route",
                json={"model": "maths", "messages": [{"role": "user", "content": QUESTION}]},
            ).json()["stages"]
            final = stages[-1][0]
            for _ in range(args.requests):
                samples["direct"].append(timed(client, final)[0])
                for model in stages[0]:
                    fake.script(ok('{"answer": "42"}'), model=UPSTREAM[model])
                samples["accepted"].append(timed(client, "maths")[0])
                for i, model in enumerate(stages[0]):
                    fake.script(ok(f'{{"answer": "{40 + i}"}}'), model=UPSTREAM[model])
                samples["escalated"].append(timed(client, "maths")[0])
    p50 = {k: statistics.median(v) for k, v in samples.items()}
    print(
        orjson.dumps(
            {
                "upstream_latency_ms": args.latency_ms,
                "requests": args.requests,
                "stages": stages,
                "p50_ms": {k: round(v, 2) for k, v in p50.items()},
                "added_p50_ms_vs_direct": {
                    k: round(p50[k] - p50["direct"], 2) for k in ("accepted", "escalated")
                },
            },
            option=orjson.OPT_INDENT_2,
        ).decode()
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
