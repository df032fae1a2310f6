"""Routing speed: one decision in-process, batch throughput, training and evaluation time.

Prints one JSON object. Run with one thread for numpy/BLAS so per-core numbers are honest:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/routing.py [--skip-eval]

Needs ../shared/data or ``$SLICEWISE_DATA`` (the llmrouter dev file); says so and exits 0 when
it is absent.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import orjson

from slicewise.cli.route import route_file
from slicewise.evaluation.run import evaluate
from slicewise.features import prompt_text
from slicewise.outcomes import iter_prompts, load_outcomes
from slicewise.routing.target import Target
from slicewise.routing.train import LEARNED, Settings, train

DATA = Path(
    os.environ.get("SLICEWISE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SOURCE = DATA / "llmrouter" / "dev.jsonl"


def cpu_ms(fn: object, *args: object) -> float:
    start = time.thread_time()
    fn(*args)  # type: ignore[operator]
    return (time.thread_time() - start) * 1e3


def single_latency(router: object, texts: list[str], repeat: int = 3) -> dict[str, float]:
    target = Target("share", 0.95)
    samples = []
    for _ in range(repeat):
        for text in texts:
            samples.append(cpu_ms(router.route, (("user", text),), target))  # type: ignore[attr-defined]
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 4),
        "p99_ms": round(samples[int(0.99 * (len(samples) - 1))], 4),
        "n": len(samples),
    }


def long_prompts(texts: list[str], tokens: int = 2000, count: int = 200) -> list[str]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        parts, size = [], 0
        while size < tokens * 4:
            part = texts[int(rng.integers(len(texts)))]
            parts.append(part)
            size += len(part)
        out.append("\n".join(parts)[: tokens * 4])
    return out


def throughput(router: object, path: Path, repeat: int = 3) -> dict[str, float]:
    prompts = list(iter_prompts(path))
    texts = [prompt_text(p.messages) for p in prompts]
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        quality, cost = router.predict(texts)  # type: ignore[attr-defined]
        router.choose(quality, cost, Target("share", 0.95))  # type: ignore[attr-defined]
        best = min(best, time.thread_time() - start)
    start = time.perf_counter()
    sink = io.BytesIO()
    route_file(router, iter(iter_prompts(path)), sink, 10, None)  # type: ignore[arg-type]
    end_to_end = time.perf_counter() - start
    return {
        "prompts": len(texts),
        "prompts_per_s": round(len(texts) / best),
        "file_sweep10_prompts_per_s": round(len(texts) / end_to_end),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-eval", action="store_true", help="skip the 5-fold eval timing")
    args = parser.parse_args()
    if not SOURCE.is_file():
        print(
            orjson.dumps(
                {"skipped": f"{SOURCE} is absent; the benchmark needs the shared outcomes data"}
            ).decode()
        )
        return 0
    table = load_outcomes(SOURCE)
    results: dict[str, object] = {"threads": os.environ.get("OMP_NUM_THREADS", "default")}
    for kind in LEARNED:
        start = time.perf_counter()
        router = train(table, Settings(kind=kind))
        entry: dict[str, object] = {"train_s": round(time.perf_counter() - start, 2)}
        texts = [prompt_text(m) for m in table.messages]
        entry["route_dev_prompts"] = single_latency(router, texts[:1000])
        entry["route_2000_tokens"] = single_latency(router, long_prompts(texts), repeat=1)
        entry["batch"] = throughput(router, SOURCE)
        results[kind] = entry
    if not args.skip_eval:
        start = time.perf_counter()
        evaluate(table, list(LEARNED), folds=5)
        results["eval_5fold_s"] = round(time.perf_counter() - start, 1)
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
