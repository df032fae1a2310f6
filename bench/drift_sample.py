"""CPU on the request path of upkeep: the drift sampling decision and the registry's lookup.

Times, in this process (no server), what a served request pays: ``Drift.sample`` for a route
without drift, for one sampled at 1 % (the usual case: not sampled), and for a sampled one
(which builds the background task that queues the shadow call after the response);
``Registry.resolve`` for a plain name, an alias, and a model with a retirement date. Prints one
JSON line per case: nanoseconds per call, the best of five runs.

    python bench/drift_sample.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson

from slicewise.chat import ChatRequest, ChatResponse, Message
from slicewise.config.load import validate
from slicewise.gateway import catalog as catalogs
from slicewise.upkeep.drift import Drift
from slicewise.upkeep.registry import Registry

MINI, BIG = "openai/gpt-4o-mini", "openai/gpt-4o"


def config() -> Any:
    raw = {
        "providers": {"openai": {"kind": "openai"}},
        "models": [
            {"name": MINI, "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
            {"name": BIG, "input_usd_per_mtok": 2.5, "output_usd_per_mtok": 10},
            {"name": "openai/old", "retires": "2099-01-01", "replaced_by": MINI},
        ],
        "aliases": {"fast": MINI},
        "routes": {"auto": {}, "all": {}},
        "drift": {"share": 0.01, "reference": BIG, "routes": {"all": {"share": 1.0}}},
    }
    return validate(raw, {}, "bench")


def per_call(work: Callable[[], Any], calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time_ns()
        for _ in range(calls):
            work()
        best = min(best, (time.process_time_ns() - start) / calls)
    return best


async def main(calls: int) -> None:
    cfg = config()
    catalog = catalogs.Catalog(
        {m.name: catalogs._model(m) for m in cfg.models}, {}, {}, Registry.of(cfg)
    )
    drift = Drift(cfg, catalog, None)
    request = ChatRequest(MINI, (Message("user", "hi"),))
    answer = ChatResponse("id", MINI, Message("assistant", "hello"), "stop")
    registry = Registry.of(cfg, lambda: date(2098, 12, 30))
    cases: dict[str, Callable[[], Any]] = {
        "drift.sample, route without drift": lambda: drift.sample(
            "explicit-none", "r", request, MINI, answer
        ),
        "drift.sample, share 0.01": lambda: drift.sample("auto", "r", request, MINI, answer),
        "drift.sample, sampled (share 1)": lambda: drift.sample("all", "r", request, MINI, answer),
        "registry.resolve, plain name": lambda: registry.resolve(MINI),
        "registry.resolve, alias": lambda: registry.resolve("fast"),
        "registry.resolve, retiring model": lambda: registry.resolve("openai/old"),
    }
    for name, work in cases.items():
        ns = per_call(work, calls)
        print(
            orjson.dumps(
                {"bench": "upkeep_hot_path", "case": name, "ns_per_call": round(ns)}
            ).decode()
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    asyncio.run(main(parser.parse_args().calls))
