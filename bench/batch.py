"""Batch benchmarks, one JSON line each: routing a million prompts, end-to-end throughput
against the fake upstream at 200 ms, and SIGKILL-and-rerun rounds.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python bench/batch.py routing
    PYTHONPATH=src python bench/batch.py e2e
    PYTHONPATH=src python bench/batch.py kills

``routing`` needs ../shared/data (the llmrouter dev file) and says so when it is absent.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = next(
    (p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()),
    ROOT.parent / "shared",
)  # ../shared beside the repository (or beside the worktrees' folder)
SOURCE = SHARED / "data" / "llmrouter" / "dev.jsonl"


def emit(record: dict[str, object]) -> None:
    print(orjson.dumps(record).decode(), flush=True)


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def routing(total: int, kind: str) -> None:
    from slicewise.batch import api
    from slicewise.outcomes import load_outcomes
    from slicewise.routing.train import Settings, train

    if not SOURCE.is_file():
        emit({"bench": "routing", "skipped": f"{SOURCE} is absent"})
        return
    table = load_outcomes(SOURCE)
    router = train(table, Settings(kind=kind))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prompts.jsonl"
        _repeat(SOURCE, path, total)
        done, cpu, models = 0, 0.0, Counter[str]()
        for chunk in _chunks(path, 4096):
            start = time.thread_time()
            decided = api.choose(router, chunk, "0.95")
            cpu += time.thread_time() - start
            models.update(decided)
            done += len(chunk)
            if done in (100_000, total) or (done >= 100_000 and done - len(chunk) < 100_000):
                emit(
                    {
                        "bench": "routing",
                        "router": kind,
                        "prompts": done,
                        "prompts_per_cpu_s": round(done / cpu),
                        "peak_rss_mb": rss_mb(),
                    }
                )


def _repeat(source: Path, target: Path, total: int) -> None:
    lines = [x for x in source.read_bytes().splitlines() if x.strip()]
    with target.open("wb") as sink:
        for i in range(total):
            sink.write(lines[i % len(lines)] + b"\n")


def _chunks(path: Path, size: int) -> Iterator[list[str]]:
    with path.open("rb") as lines:
        while chunk := list(islice(lines, size)):
            rows = [orjson.loads(x) for x in chunk]
            yield ["\n\n".join(m["content"] or "" for m in r["messages"]) for r in rows]


def e2e(latency_ms: float, rounds: int, engines: list[str]) -> None:
    from tests.batch.conftest import ENV, batch_config, request_line, write_lines
    from tests.fakes.upstream import spawn

    from slicewise.batch import api
    from slicewise.config.load import validate

    # the fake in its own process, so its work does not share this one's interpreter lock
    with spawn(latency_ms) as url, tempfile.TemporaryDirectory() as tmp:
        fake = _At(url)
        base = Path(tmp)
        cases = [(c, None, "local") for c in (16, 32, 64, 128, 256)] + [(256, 3000, "local")]
        if "ray" in engines:
            cases += [(64, None, "ray"), (256, None, "ray"), (256, 3000, "ray")]
        if "local" not in engines:
            cases = [c for c in cases if c[2] != "local"]
        for concurrency, rpm, engine in cases:
            n = concurrency * rounds
            lines = [request_line(f"r{i}", f"email {i}", "openai/gpt-4o-mini") for i in range(n)]
            source = write_lines(base / f"in{concurrency}-{rpm}.jsonl", lines)
            limits = {"openai": {"rpm": rpm}} if rpm else {}
            run_dir = base / f"{concurrency}-{rpm}-{engine}"
            run_dir.mkdir()
            raw = batch_config(
                fake,
                run_dir,  # type: ignore[arg-type]
                batch={"fsync": True, "limits": limits},
            )
            config = validate(raw, {}, "bench")
            out = base / f"out{concurrency}-{rpm}-{engine}.jsonl"
            start = time.perf_counter()
            found = api.run(source, out, config, env=ENV, concurrency=concurrency, engine=engine)
            seconds = time.perf_counter() - start
            emit(
                {
                    "bench": "e2e",
                    "engine": engine,
                    "latency_ms": latency_ms,
                    "concurrency": concurrency,
                    "rpm_limit": rpm,
                    "requests": found["requests"],
                    "requests_per_s": round(n / seconds, 1),
                    "steady_per_s": _steady(config.ledger.url, found["requests"]),
                    "ideal_per_s": round(
                        min(concurrency / (latency_ms / 1000), (rpm or 1e12) / 60), 1
                    ),
                }
            )


def _steady(url: str, requests: int) -> float:
    """Requests a second from the first call's start to the last call's end (start-up and
    shut-down left out), from the ledger's rows of the run."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    query = text(
        "SELECT min(created), max(created + latency_ms / 1000.0) FROM transactions "
        "WHERE cost_usd IS NOT NULL"
    )
    with engine.connect() as db:
        first, last = db.execute(query).one()
    engine.dispose()
    return round(requests / (last - first), 1)


class _At:
    def __init__(self, url: str) -> None:
        self.url = url


def kills(total: int, rounds: int) -> None:
    from tests.batch.conftest import ENV, batch_config, request_line, write_lines
    from tests.batch.kills import kill_and_rerun
    from tests.fakes.upstream import FakeUpstream

    number = re.compile(r"email (\d+)")
    with FakeUpstream(latency_ms=50) as fake, tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        lines = [request_line(f"r{i}", f"email {i}", "openai/gpt-4o-mini") for i in range(total)]
        source = write_lines(base / "in.jsonl", lines)
        config = batch_config(fake, base, batch={"fsync": True})
        found = kill_and_rerun(
            config, source, base / "out.jsonl", rounds, seed=1, env=ENV, concurrency=32
        )
        received = Counter(m.group(1) for r in fake.requests if (m := number.search(str(r.body))))
        emit(
            {
                "bench": "kills",
                "requests": total,
                "kills": found.kills,
                "answered": len(found.answered),
                "in_doubt": found.in_doubt,
                "answered_twice": sum(v > 1 for v in found.answered.values()),
                "ledger_paid_twice": sum(v > 1 for v in found.paid_rows.values()),
                "ledger_paid_rows": sum(found.paid_rows.values()),
                "upstream_calls": sum(fake.calls.values()),
                "upstream_asked_twice": sum(v > 1 for v in received.values()),
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=("routing", "e2e", "kills"))
    parser.add_argument("--prompts", type=int, default=1_000_000)
    parser.add_argument("--kind", default="ensemble")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--rounds", type=int, default=8, help="requests per worker (e2e)")
    parser.add_argument("--engines", default="local", help="local,ray (e2e)")
    parser.add_argument("--requests", type=int, default=2000, help="(kills)")
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    if args.part == "routing":
        routing(args.prompts, args.kind)
    elif args.part == "e2e":
        e2e(args.latency_ms, args.rounds, args.engines.split(","))
    else:
        kills(args.requests, args.kills)


if __name__ == "__main__":
    main()
