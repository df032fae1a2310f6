"""Gateway overhead: slicewise and the LiteLLM proxy side by side, against a fake upstream.

    python bench/gateway.py            # about 3.5 minutes; one JSON object on stdout
    python bench/gateway.py --quick    # about 30 s: one round of 1 s phases, concurrency 1, 16
    python bench/gateway.py --profile  # and then py-spy on slicewise (+25 s): ms by layer

Three targets answer the same POST /v1/chat/completions: ``direct`` (the fake upstream of
``tests.fakes.upstream``, answering at once), ``slicewise`` (``slicewise serve``, ``model="auto"``
over three OpenAI-compatible models at the fake, cold-start router, SQLite ledger in a temp dir)
and ``litellm`` (its proxy, the same three models as one model group ``auto``). Each phase is
one (mode, concurrency, target) for ``--seconds``; the phases of a round run target after target
for each mode and concurrency, and the rounds repeat, so machine noise hits every target alike.

- Modes: ``plain`` (non-streaming), ``stream`` (20 SSE chunks: the fake echoes the prompt word by
  word and ``max_tokens`` cuts it), ``stream_long`` (80 chunks, slicewise only: the slope between
  the two stream modes is the cost of one more chunk, with request and routing held fixed).
- Client: a lean uvloop + httptools client in this process, one keep-alive connection per unit
  of concurrency, closed loop; a phase stops issuing after ``--seconds`` and waits for the
  requests in flight, so every request whose CPU is counted is also counted as a request.
- Latency: from writing the request to the end of the response (``first_chunk`` for streams:
  to its first body bytes); ``added`` = target minus direct, same mode and concurrency.
- CPU: utime + stime of the server's process tree from /proc (children included), before and
  after each phase; the client's own CPU is not in it. ``upstream_cpu`` is the fake's.
- Pinning (unless ``--no-pin``): the server under test on core 1, the client and the fake on
  core 0, so a proxy gets one core whatever it would take, and the client cannot crowd it.

Known shortcomings: the machine is shared, so absolute numbers drift between runs; compare the
ratios, which are measured side by side. LiteLLM runs with its defaults (access log on), as a
user would run it; slicewise runs as ``slicewise serve`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httptools
import uvloop

ROOT = Path(__file__).resolve().parents[1]
LITELLM = Path("/opt/litellm/bin/litellm")
KEY = "sk-bench-" + "5eed" * 8
"""LiteLLM refuses to start without a master key; every target gets the same header."""
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-haiku-latest")
PRICES = {"gpt-4o-mini": (0.15, 0.6), "gpt-4o": (2.5, 10), "claude-3-5-haiku-latest": (0.8, 4)}
PROMPT = (
    "Our support team keeps answering the same billing questions by hand every morning, and "
    "the queue grows faster than we can read it. Could you suggest a short plan to sort the "
    "incoming tickets by topic, send the easy ones a template reply, and flag anything about "
    "refunds, outages or security for a person to answer the same day? Please keep it "
    "practical: list the steps in order, say which tools we would need and what they cost, "
    "point out the risks of answering customers automatically, and estimate roughly how "
    "many hours each step could save us over a normal working week."
)
"""About 100 words: the fake echoes it word by word, and ``max_tokens`` cuts the echo."""
CHUNKS = {"stream": 20, "stream_long": 80}
"""SSE data chunks per answer: a role chunk, max_tokens words, a finish chunk ([DONE] aside)."""
TARGETS = ("direct", "slicewise", "litellm")
CATEGORIES = (
    # (name, path fragments); a sample goes to the first named frame from its leaf up
    ("logging", ("logging/",)),
    ("routing: featurisation", ("slicewise/features/",)),
    ("routing: decision", ("slicewise/routing/", "slicewise/gateway/plan.py")),
    ("ledger (queue, thread, sqlite)", ("slicewise/ledger/", "slicewise/gateway/record.py")),
    ("wire: JSON parse/render", ("slicewise/wire/", "slicewise/chat.py", "gateway/protocols.py")),
    ("provider adapter", ("slicewise/providers/",)),
    ("httpx2 client", ("httpx2/", "httpcore2/", "h11/")),  # anyio: whoever called it
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


# -- servers --------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    model: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(core: int | None, command: list[str]) -> list[str]:
    return command if core is None else ["taskset", "-c", str(core), *command]


def launch(
    name: str, command: list[str], tmp: Path, env: dict[str, str], core: int | None
) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            pinned(core, command),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    return process, log


def start_servers(tmp: Path, pin: bool) -> dict[str, Server]:
    """The fake upstream, slicewise and LiteLLM, each answering a real chat call."""
    ports = {target: free_port() for target in TARGETS}
    upstream = f"http://127.0.0.1:{ports['direct']}/v1"
    (tmp / "slicewise.yaml").write_text(json.dumps(slicewise_config(upstream, tmp)))
    (tmp / "litellm.yaml").write_text(json.dumps(litellm_config(upstream)))
    commands = {
        "direct": [sys.executable, "-m", "tests.fakes.upstream"],
        "slicewise": ["slicewise", "serve", "--config", str(tmp / "slicewise.yaml")],
        "litellm": [str(LITELLM), "--config", str(tmp / "litellm.yaml"), "--host", "127.0.0.1"],
    }
    env = {
        "direct": {},
        "slicewise": {"BENCH_KEY": KEY},
        "litellm": {"LITELLM_MASTER_KEY": KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    }
    servers = {}
    for target in TARGETS:
        core = None if not pin else (0 if target == "direct" else 1)
        command = [*commands[target], "--port", str(ports[target])]
        process, log = launch(target, command, tmp, env[target], core)
        model = MODELS[0] if target == "direct" else "auto"
        servers[target] = Server(target, process, ports[target], model, log)
    try:
        for server in servers.values():
            wait_ready(server)
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def slicewise_config(upstream: str, tmp: Path) -> dict[str, Any]:
    models = [
        {
            "name": f"fake/{m}",
            "input_usd_per_mtok": PRICES[m][0],
            "output_usd_per_mtok": PRICES[m][1],
            "context_window": 128000,
        }
        for m in MODELS
    ]
    return {
        "providers": {"fake": {"kind": "openai", "base_url": upstream, "key_env": "BENCH_KEY"}},
        "models": models,
        "routes": {"auto": {"router": "coldstart", "target": "0.9"}},
        "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
    }


def litellm_config(upstream: str) -> dict[str, Any]:
    params = [{"model": f"openai/{m}", "api_base": upstream, "api_key": KEY} for m in MODELS]
    return {"model_list": [{"model_name": "auto", "litellm_params": p} for p in params]}


def wait_ready(server: Server, timeout: float = 90.0) -> None:
    """Until one real chat call succeeds: a health route can be up before the routes are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(OSError, http.client.HTTPException):
            if probe(server, "plain")[0] == 200:
                return
        time.sleep(0.25)
    tail = server.log.read_text(errors="replace")[-2000:]
    raise SystemExit(f"{server.name} did not start; the end of its log:\n{tail}")


def stop_servers(servers: dict[str, Server]) -> None:
    for server in servers.values():
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers.values():
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# -- requests -------------------------------------------------------------------------------


def body(model: str, mode: str) -> bytes:
    stream = mode != "plain"
    cut = CHUNKS.get(mode, CHUNKS["stream"]) - 2
    message = {"role": "user", "content": PROMPT}
    return json.dumps(
        {"model": model, "messages": [message], "max_tokens": cut, "stream": stream}
    ).encode()


def request_bytes(server: Server, mode: str) -> bytes:
    payload = body(server.model, mode)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def probe(server: Server, mode: str) -> tuple[int, int, dict[str, str]]:
    """One blocking call: its status, its SSE data chunks (without [DONE]), its headers."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
        conn.request("POST", "/v1/chat/completions", body(server.model, mode), headers)
        response = conn.getresponse()
        text = response.read().decode()
        lines = [x for x in text.splitlines() if x.startswith("data:") and "[DONE]" not in x]
        return response.status, len(lines), dict(response.getheaders())
    finally:
        conn.close()


# -- load -----------------------------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``exchange`` sends a request and times its response."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.first = self.ended = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_body(self, chunk: bytes) -> None:
        if not self.first:
            self.first = time.perf_counter()

    def on_message_complete(self) -> None:
        self.ended = time.perf_counter()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def exchange(self, payload: bytes) -> tuple[int, float, float]:
        """Status, seconds to the end of the response, seconds to its first body bytes."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.first = 0.0
        sent = time.perf_counter()
        self.transport.write(payload)
        status = await self.waiter
        return status, self.ended - sent, (self.first or self.ended) - sent


async def connect(port: int) -> Connection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Connection, "127.0.0.1", port)
    return conn


@dataclass
class Load:
    latency: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0


async def load(port: int, payload: bytes, concurrency: int, seconds: float) -> Load:
    """Closed loop on ``concurrency`` connections; stop issuing after ``seconds``, then drain."""
    result = Load()
    conns = [await connect(port) for _ in range(concurrency)]
    started = time.perf_counter()
    stop = started + seconds

    async def worker(i: int) -> None:
        while time.perf_counter() < stop:
            try:
                status, total, first = await conns[i].exchange(payload)
            except (OSError, httptools.HttpParserError) as exc:
                result.errors[type(exc).__name__] += 1
                conns[i] = await connect(port)
                continue
            if status != 200:
                result.errors[str(status)] += 1
            result.latency.append(total)
            result.first.append(first)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    result.wall = time.perf_counter() - started
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return result


# -- CPU ------------------------------------------------------------------------------------

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


# -- phases ---------------------------------------------------------------------------------


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
    payload = request_bytes(server, mode)
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


# -- report ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summarise(phases: list[Phase]) -> dict[str, Any]:
    latency = [x for p in phases for x in p.load.latency]
    first = [x for p in phases for x in p.load.first]
    count = len(latency)
    errors: Counter[str] = sum((p.load.errors for p in phases), Counter())
    out = {
        "requests": count,
        "errors": dict(errors),
        "throughput_rps": round(count / sum(p.load.wall for p in phases), 1),
        "p50_ms": ms(percentile(latency, 0.5)),
        "p99_ms": ms(percentile(latency, 0.99)),
        "cpu_ms_per_request": round(sum(p.cpu for p in phases) * 1000 / max(count, 1), 4),
        "upstream_cpu_ms_per_request": round(
            sum(p.upstream_cpu for p in phases) * 1000 / max(count, 1), 4
        ),
        "p50_ms_by_round": [ms(percentile(p.load.latency, 0.5)) for p in phases],
        "cpu_ms_per_request_by_round": [
            round(p.cpu * 1000 / max(len(p.load.latency), 1), 3) for p in phases
        ],
    }
    if phases[0].mode != "plain":
        out["first_chunk_p50_ms"] = ms(percentile(first, 0.5))
    return out


def report(phases: list[Phase]) -> dict[str, dict[str, dict[str, Any]]]:
    """mode -> concurrency -> target -> summary, with latency added over direct."""
    grouped: dict[tuple[str, int, str], list[Phase]] = {}
    for p in phases:
        grouped.setdefault((p.mode, p.concurrency, p.target), []).append(p)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (mode, c, target), group in grouped.items():
        out.setdefault(mode, {}).setdefault(str(c), {})[target] = summarise(group)
    for by_c in out.values():
        for row in by_c.values():
            base = row.get("direct")
            for target, summary in row.items():
                if target != "direct" and base is not None:
                    summary["added_p50_ms"] = round(summary["p50_ms"] - base["p50_ms"], 3)
                    summary["added_p99_ms"] = round(summary["p99_ms"] - base["p99_ms"], 3)
                    if "first_chunk_p50_ms" in summary:
                        first = summary["first_chunk_p50_ms"] - base["first_chunk_p50_ms"]
                        summary["added_first_chunk_p50_ms"] = round(first, 3)
    return out


def overhead_per_chunk(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """slicewise's CPU per streamed chunk, two ways, per concurrency (microseconds)."""
    out = {}
    extra = CHUNKS["stream_long"] - CHUNKS["stream"]
    for c, row in results["stream"].items():
        stream = row["slicewise"]["cpu_ms_per_request"]
        plain = results["plain"][c]["slicewise"]["cpu_ms_per_request"]
        entry = {"stream_minus_plain_us": round((stream - plain) * 1000 / CHUNKS["stream"], 1)}
        long = results.get("stream_long", {}).get(c, {}).get("slicewise")
        if long is not None:
            slope = (long["cpu_ms_per_request"] - stream) * 1000 / extra
            entry["slope_20_to_80_chunks_us"] = round(slope, 1)
        out[c] = entry
    return out


def targets(results: dict[str, Any], per_chunk: dict[str, dict[str, float]]) -> dict[str, Any]:
    ratios = {
        f"{mode}@{c}": round(
            row["slicewise"]["cpu_ms_per_request"] / row["litellm"]["cpu_ms_per_request"], 4
        )
        for mode in ("plain", "stream")
        for c, row in results[mode].items()
    }
    chunk = [
        v.get("slope_20_to_80_chunks_us", v["stream_minus_plain_us"]) for v in per_chunk.values()
    ]
    worst = max(ratios.values())
    cpu = {
        "met": worst <= 0.1,
        "ratio": ratios,
        "worst": worst,
        "cut_needed_at_worst": f"{max(0.0, 1 - 0.1 / worst):.0%} of slicewise's CPU per request",
    }
    return {
        "cpu_at_most_tenth_of_litellm": cpu,
        "added_p50_at_c1_under_2ms": latency_target(results),
        "stream_overhead_under_50us_per_chunk": {"met": max(chunk) < 50.0, "us": per_chunk},
    }


def latency_target(results: dict[str, Any]) -> dict[str, Any]:
    """Judged on the non-streaming answer and on a stream's first chunk; the whole stream is
    shown too, though it also carries the relay of 20 chunks."""
    if "1" not in results["plain"]:
        return {"met": None, "why": "concurrency 1 was not run"}
    plain = results["plain"]["1"]["slicewise"]
    stream = results["stream"]["1"]["slicewise"]
    judged = (plain["added_p50_ms"], stream["added_first_chunk_p50_ms"])
    return {
        "met": max(judged) < 2.0,
        "plain_ms": judged[0],
        "stream_first_chunk_ms": judged[1],
        "stream_whole_ms": stream["added_p50_ms"],
    }


# -- profile --------------------------------------------------------------------------------


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


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if not LITELLM.exists():
        raise SystemExit(f"the LiteLLM proxy is expected at {LITELLM}")
    if not args.no_pin:
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="slicewise-bench-") as name:
        tmp = Path(name)
        servers = start_servers(tmp, not args.no_pin)
        try:
            print(json.dumps(run(servers, args, tmp), indent=1))
        finally:
            stop_servers(servers)


def run(servers: dict[str, Server], args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    started, load_before = time.monotonic(), os.getloadavg()
    chunks = check(servers)
    for target in TARGETS:  # warm up: imports, pools, caches
        for mode in ("plain", "stream"):
            run_phase(servers, target, mode, 16, args.warmup)
    idle = idle_cpu(servers)
    phases = []
    for mode, c, target in schedule(args.concurrency, args.rounds):
        phases.append(run_phase(servers, target, mode, c, args.seconds))
        note(f"{mode:11} c={c:<3} {target:9} {len(phases[-1].load.latency):6} requests")
    results = report(phases)
    per_chunk = overhead_per_chunk(results)
    out = {
        "settings": settings(args, chunks, load_before),
        "idle_cpu_ms_per_s": idle,
        "results": results,
        "stream_overhead_us_per_chunk": per_chunk,
        "targets": targets(results, per_chunk),
    }
    if args.profile:
        at = 16 if 16 in args.concurrency else args.concurrency[-1]
        unprofiled = {
            m: results[m][str(at)]["slicewise"]["cpu_ms_per_request"] for m in ("plain", "stream")
        }
        spied = Spied(at, args.profile_seconds, unprofiled)
        out["profile"] = profile(servers, spied, tmp, not args.no_pin)
    out["settings"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    out["settings"]["wall_s"] = round(time.monotonic() - started, 1)
    return out


def check(servers: dict[str, Server]) -> dict[str, dict[str, Any]]:
    """Each target answers each mode with 200; what each streamed, and where slicewise routed."""
    seen: dict[str, dict[str, Any]] = {}
    for target, server in servers.items():
        for mode in ("plain", *CHUNKS):
            status, chunks, headers = probe(server, mode)
            if status != 200:
                raise SystemExit(f"{target} answered {mode} with {status}")
            if chunks != CHUNKS.get(mode, 0):
                raise SystemExit(f"{target} streamed {chunks} chunks for {mode}, not {CHUNKS}")
            seen.setdefault(target, {})[f"{mode}_chunks"] = chunks
            if target == "slicewise":
                seen[target][f"{mode}_routed_to"] = headers.get("x-slicewise-model")
    return seen


def settings(args: argparse.Namespace, chunks: Any, load_before: Any) -> dict[str, Any]:
    return {
        "rounds": args.rounds,
        "seconds_per_phase": args.seconds,
        "concurrency": args.concurrency,
        "pinning": "none"
        if args.no_pin
        else "server under test on core 1; client, fake upstream, py-spy on core 0",
        "client": "uvloop + httptools, one keep-alive connection per unit of concurrency",
        "sse_chunks_seen": chunks,
        "cores": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
    }


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 round of 1 s, concurrency 1 and 16")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0, help="per phase")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds per target and mode")
    p.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64]
    )
    p.add_argument("--no-pin", action="store_true", help="let the OS place the processes")
    p.add_argument("--profile", action="store_true", help="py-spy slicewise afterwards")
    p.add_argument("--profile-seconds", type=float, default=8.0)
    args = p.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.concurrency = 1, 1.0, 0.5, [1, 16]
        args.profile_seconds = min(args.profile_seconds, 3.0)
    return args


if __name__ == "__main__":
    main()
