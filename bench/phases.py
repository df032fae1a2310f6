"""Measured phases: one (mode, concurrency, target) under load, with the server's CPU.

CPU is utime + stime of a server's process tree from /proc (children included), before and
after the phase; the client's own CPU is not in it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvloop

from load import Load, load, request_bytes
from servers import TARGETS, Server

TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants, plus what their reaped children used."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = fields
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            # fields after the command: state ppid ... utime(11) stime(12) cutime(13) cstime(14)
            total += sum(int(x) for x in stats[current][11:15])
        todo += children.get(current, [])
    return total / TICK


def settled_cpu(pid: int, quiet: float = 0.15, most: float = 2.0) -> float:
    """``tree_cpu`` once the process has stopped working on what the phase left it."""
    deadline, last = time.monotonic() + most, tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = tree_cpu(pid)
        if now - last < 0.005:
            return now
        last = now
    return last


@dataclass
class Phase:
    target: str
    mode: str
    concurrency: int
    load: Load
    cpu: float
    upstream_cpu: float


def run_phase(
    servers: dict[str, Server], target: str, mode: str, concurrency: int, seconds: float
) -> Phase:
    server, fake = servers[target], servers["direct"]
    payload = request_bytes(server.port, server.model, mode)
    before, fake_before = tree_cpu(server.process.pid), tree_cpu(fake.process.pid)
    result = uvloop.run(load(server.port, payload, concurrency, seconds))
    after = settled_cpu(server.process.pid)
    fake_after = tree_cpu(fake.process.pid)
    return Phase(target, mode, concurrency, result, after - before, fake_after - fake_before)


def schedule(concurrency: list[int], rounds: int) -> Iterator[tuple[str, int, str]]:
    """(mode, concurrency, target) in run order; the target order rotates each round."""
    for r in range(rounds):
        for mode in ("plain", "stream", "stream_long"):
            for c in concurrency:
                targets = list(TARGETS) if mode != "stream_long" else ["slicewise"]
                shift = r % len(targets)
                yield from ((mode, c, t) for t in targets[shift:] + targets[:shift])


def idle_cpu(servers: dict[str, Server], seconds: float = 2.0) -> dict[str, float]:
    """ms of CPU per second that each server spends doing nothing in particular."""
    before = {n: tree_cpu(s.process.pid) for n, s in servers.items()}
    time.sleep(seconds)
    return {
        n: round((tree_cpu(s.process.pid) - before[n]) * 1000 / seconds, 2)
        for n, s in servers.items()
    }
