"""py-spy on slicewise under load: its CPU per request split by layer, and the hot spots.

(Not ``profile.py``: run as ``python bench/gateway.py``, that name would hide the standard
library's ``profile`` module from everything in the process.)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phases import TICK, Phase, run_phase
from servers import Server, pinned

CATEGORIES = (
    # (name, path fragments); a sample goes to the first named frame from its leaf up, so
    # anyio (which starlette uses) counts for whoever called it
    ("logging", ("logging/",)),
    ("routing: featurisation", ("slicewise/features/",)),
    ("routing: decision", ("slicewise/routing/", "slicewise/gateway/plan.py")),
    ("ledger (queue, thread, sqlite)", ("slicewise/ledger/", "slicewise/gateway/record.py")),
    ("wire: JSON parse/render", ("slicewise/wire/", "slicewise/chat.py", "gateway/protocols.py")),
    ("provider adapter", ("slicewise/providers/",)),
    ("aiohttp client", ("aiohttp/", "yarl/", "multidict/", "propcache/")),
    ("starlette", ("starlette/",)),
    ("uvicorn", ("uvicorn/",)),
    ("gateway glue", ("slicewise/gateway/",)),
)
LOOP = "event loop, sockets (uvloop)"
GC = "garbage collector"
HOT_SPOTS = (
    ("getpid() syscall in asyncio.get_running_loop (Python 3.11)", {"getpid"}),
    ("socket write syscalls", {"write", "writev", "send", "sendmsg"}),
    ("socket read syscalls", {"read", "readv", "recv", "recvmsg"}),
)


@dataclass(frozen=True)
class Spied:
    concurrency: int
    seconds: float
    unprofiled: dict[str, float]
    """slicewise's CPU ms per request in the main run, per mode, at ``concurrency``."""


def profile(servers: dict[str, Server], spied: Spied, tmp: Path, pin: bool) -> dict[str, Any]:
    """py-spy on slicewise under load: its CPU per request, by layer, per mode.

    py-spy samples a thread only while it holds the GIL (``--gil``: a thread that is merely
    runnable, say the ledger writer waiting for the one core, is not counted as busy) and
    unwinds native frames (``--native``), so C time (orjson, numpy, uvloop, syscalls, the
    garbage collector) lands on the Python code that caused it. The main thread's CPU per
    request is split by its samples; the other threads' CPU is the ledger writer, which
    releases the GIL inside SQLite, and is measured from /proc alone. Sampling native stacks
    slows the server by a third or more, so the milliseconds are the samples' shares of the
    main run's CPU per request (``spied.unprofiled``, same mode and concurrency).
    """
    spy = shutil.which("py-spy")
    if spy is None:
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    out: dict[str, Any] = {"concurrency": spied.concurrency}
    pid = servers["slicewise"].process.pid
    for mode in ("plain", "stream"):
        raw = tmp / f"profile-{mode}.txt"
        phase, rest = spy_on(servers, spied, mode, [spy, "-o", str(raw)], pin)
        count = max(len(phase.load.latency), 1)
        total = spied.unprofiled[mode]
        out[mode] = {
            "cpu_ms_per_request_while_profiled": round(phase.cpu * 1000 / count, 4),
            "cpu_ms_per_request": total,
            **split(raw.read_text().splitlines(), pid, total - rest, rest),
        }
    return out


def spy_on(
    servers: dict[str, Server], spied: Spied, mode: str, spy: list[str], pin: bool
) -> tuple[Phase, float]:
    """One profiled phase, and the CPU ms per request of slicewise's threads but the main."""
    pid = servers["slicewise"].process.pid
    command = [spy[0], "record", "-p", str(pid), "-r", "100", "-f", "raw", *spy[1:]]
    command += ["-d", str(int(spied.seconds) + 2), "--gil", "--threads", "--native"]
    spying = subprocess.Popen(
        pinned(0 if pin else None, command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)  # attached
    before = thread_cpu(pid)
    phase = run_phase(servers, "slicewise", mode, spied.concurrency, spied.seconds)
    after = thread_cpu(pid)
    spying.wait(timeout=spied.seconds + 60)
    others = sum(after.values()) - sum(before.values()) - (after[pid] - before[pid])
    return phase, others * 1000 / max(len(phase.load.latency), 1)


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each live thread of ``pid``."""
    out = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{pid}/task/{task}/stat").read_text()
            fields = text.rsplit(")", 1)[1].split()
            out[int(task)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def split(lines: list[str], pid: int, main: float, rest: float) -> dict[str, Any]:
    """ms per request by layer (main thread's samples), plus hot spots across layers."""
    layers: Counter[str] = Counter()
    spots: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in lines:
        stack, _, number = line.rpartition(" ")
        frames = stack.split(";")
        if not frames[0].startswith(f"thread ({pid})"):  # the main thread's id is the pid
            continue
        count = int(number)
        layers[layer(frames)] += count
        leaves[re.sub(r":\d+\)$", ")", frames[-1])] += count  # functions, not lines
        for spot in hot_spots(frames):
            spots[spot] += count
    total = sum(layers.values()) or 1

    def ms(n: int) -> float:
        return round(main * n / total, 4)

    by_layer = {name: ms(n) for name, n in layers.most_common()}
    by_layer["ledger writer thread (sqlite; /proc)"] = round(rest, 4)
    return {
        "main_thread_samples": total,
        "layers_ms": by_layer,
        "hot_spots_ms": {name: ms(n) for name, n in spots.most_common()},
        "top_leaves_ms": {name: ms(n) for name, n in leaves.most_common(12)},
    }


def layer(frames: list[str]) -> str:
    """The layer a sample belongs to: the first named frame from its leaf up."""
    if any("gc_collect" in f for f in frames):
        return GC  # the whole heap's cost, not the cost of whoever allocated last
    for frame in reversed(frames):
        for name, fragments in CATEGORIES:
            if any(f in frame for f in fragments):
                return name
    return LOOP


def hot_spots(frames: list[str]) -> list[str]:
    """Costs that cut across layers, named for the suggestions they lead to."""
    leaf = frames[-1].split(" (")[0]
    found = [name for name, names in HOT_SPOTS if leaf in names]
    caller = anyio_caller(frames)
    if caller is not None:
        found.append(f"anyio + sniffio's own work, called by {caller}")
    if any("numpy/" in f for f in frames):
        found.append("numpy calls (routing on 1 prompt x 3 models)")
    return found


def anyio_caller(frames: list[str]) -> str | None:
    """The layer that called anyio or sniffio, when they are the innermost named code."""
    named = [fragment for _, fragments in CATEGORIES for fragment in fragments]
    for i in range(len(frames) - 1, -1, -1):
        if "anyio/" in frames[i] or "sniffio/" in frames[i]:
            return layer(frames[:i])
        if any(fragment in frames[i] for fragment in named):
            return None
    return None
