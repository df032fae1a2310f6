"""Killing a batch run at random points and rerunning it until it is done (test and bench).

``kill_and_rerun`` starts ``slicewise batch run`` as a subprocess against a running fake
upstream, SIGKILLs it after a random time, ``rounds`` times, then lets one run finish. What it
returns is what the checks need: every custom_id in the output and in the failures file, the
prompts the fake received, and the ledger's paid rows per custom_id.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    answered: Counter[str]
    failed: Counter[str]
    in_doubt: int
    paid_rows: Counter[str]
    kills: int


def command(config: Path, source: Path, out: Path, concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "slicewise.cli.main",
        "batch",
        "run",
        str(source),
        "--out",
        str(out),
        "--config",
        str(config),
        "--concurrency",
        str(concurrency),
        "--json",
    ]


def kill_and_rerun(
    config: dict[str, Any],
    source: Path,
    out: Path,
    rounds: int,
    seed: int,
    env: dict[str, str],
    concurrency: int = 16,
    most_seconds: float = 60.0,
) -> Outcome:
    path = out.with_name("batch.yaml")
    path.write_text(yaml.safe_dump(config))
    rng = random.Random(seed)
    environment = {**os.environ, **env, "PYTHONPATH": str(ROOT / "src")}
    kills = 0
    step = max(6, source.read_bytes().count(b"\n") // (rounds + 1))
    for _ in range(rounds):
        process = subprocess.Popen(
            command(path, source, out, concurrency),
            env=environment,
            cwd=out.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_answers(out, rng.randint(5, step), process, most_seconds)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    final = subprocess.run(
        command(path, source, out, concurrency),
        env=environment,
        cwd=out.parent,
        capture_output=True,
        check=False,
    )
    summary = orjson.loads(final.stdout)
    return Outcome(
        Counter(x["custom_id"] for x in _lines(out)),
        Counter(x["custom_id"] for x in _lines(_failures(out))),
        int(summary["in_doubt"]),
        _paid(config["ledger"]["url"]),
        kills,
    )


def _wait_for_answers(
    out: Path, more: int, process: subprocess.Popen[bytes], most_seconds: float
) -> None:
    kept = out.with_name(out.name + ".journal")
    before = _answers(kept)
    deadline = time.monotonic() + most_seconds
    while process.poll() is None and time.monotonic() < deadline:
        if _answers(kept) >= before + more:
            return
        time.sleep(0.01)


def _answers(kept: Path) -> int:
    try:
        return kept.read_bytes().count(b'{"d":')
    except FileNotFoundError:
        return 0


def _failures(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".failures.jsonl")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


def _paid(url: str) -> Counter[str]:
    engine = create_engine(url)
    query = text("SELECT extra FROM transactions WHERE cost_usd IS NOT NULL")
    with engine.connect() as db:
        found = Counter(orjson.loads(row[0])["custom_id"] for row in db.execute(query))
    engine.dispose()
    return found
