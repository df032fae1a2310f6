"""The batch Python API: load a router, route prompts (a list or a table), run a job.

::

    from slicewise.batch import api

    router = api.load_router("router.safetensors")
    choices = api.route(router, ["Translate 'cat' to French", "Prove Fermat's last theorem"])
    [c.model for c in choices]
    api.choose(router, table)          # only the model names, faster (a column of a table)

    summary = api.run("requests.jsonl", "answers.jsonl", config="slicewise.yaml")
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from slicewise.batch.job import Options
from slicewise.batch.routes import decide
from slicewise.config import Config, load_config
from slicewise.errors import ConfigError
from slicewise.routing import artifact
from slicewise.routing.route import Route
from slicewise.routing.router import Router
from slicewise.routing.target import Target, parse_target

__all__ = ["Options", "choose", "load_router", "route", "run", "run_job"]
CHUNK = 4096
COLUMNS = ("prompt", "text", "messages")


def load_router(path: str | Path) -> Router:
    """A router saved by ``slicewise train``."""
    return artifact.load(path)


def route(router: Router, prompts: Any, target: Target | str | None = None) -> list[Route]:
    """The decision for each prompt: a list of strings, or a pandas DataFrame or pyarrow Table
    with a ``prompt`` (or ``text``) column of strings or a ``messages`` column."""
    goal = parse_target(target) if isinstance(target, str) else target
    texts = _texts(prompts)
    decided: list[Route] = []
    for lo in range(0, len(texts), CHUNK):
        decided += decide(router, texts[lo : lo + CHUNK], goal)
    return decided


def choose(router: Router, prompts: Any, target: Target | str | None = None) -> list[str]:
    """Only the chosen model per prompt: ``route`` without the explanations, for speed (the
    same choices)."""
    goal = parse_target(target) if isinstance(target, str) else target
    texts = _texts(prompts)
    known = router.cost.known()
    chosen: list[str] = []
    for lo in range(0, len(texts), CHUNK):
        chunk = texts[lo : lo + CHUNK]
        quality, cost = router.predict(chunk)
        eligible = np.broadcast_to(known, quality.shape)
        chosen += [router.models[i] for i in router.choose(quality, cost, goal, eligible)]
    return chosen


def _texts(prompts: Any) -> list[str]:
    if isinstance(prompts, Sequence) and not isinstance(prompts, str):
        return [str(p) for p in prompts]
    names = list(getattr(prompts, "column_names", None) or getattr(prompts, "columns", []))
    column = next((c for c in COLUMNS if c in names), None)
    if column is None:
        raise ConfigError(f"the table needs a column named one of {', '.join(COLUMNS)}")
    values = prompts[column]
    values = values.to_pylist() if hasattr(values, "to_pylist") else list(values)
    if column != "messages":
        return [str(v) for v in values]
    return ["\n\n".join(str(m.get("content") or "") for m in v) for v in values]


def run(
    input: str | Path,
    output: str | Path,
    config: str | Path | Config | None = None,
    *,
    route: str | None = None,
    concurrency: int = 64,
    max_cost: Decimal | str | None = None,
    deferred: bool = False,
    engine: str = "local",
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run a batch job to its end; its summary (what ``slicewise batch run --json`` prints)."""
    loaded = config if isinstance(config, Config) else load_config(config, env)
    options = Options(
        Path(input),
        Path(output),
        route,
        concurrency,
        None if max_cost is None else Decimal(max_cost),
        live=False,
    )
    return run_loop(run_job(options, loaded, engine, deferred, env=env))


def run_loop(job: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run ``job`` on uvloop where it is installed (it comes with ``uvicorn[standard]``):
    the event loop's own work is a large share of a batch call's CPU."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(job)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(job)


async def run_job(
    options: Options,
    config: Config,
    engine: str = "local",
    deferred: bool = False,
    address: str | None = None,
    poll: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    if deferred:
        from slicewise.batch.deferred import run as run_deferred

        return await run_deferred(options, config, env, poll)
    if engine == "ray":
        from slicewise.batch.ray_engine import run as run_ray

        return await run_ray(options, config, env, address)
    from slicewise.batch import local

    found: dict[str, Any] = await local.run(options, config, env)
    return found
