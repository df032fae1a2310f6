"""The three targets as processes: the fake upstream, ``slicewise serve``, the LiteLLM proxy.

Each listens on a free port of 127.0.0.1 and counts as started once it answers a real chat call.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load import KEY, probe

ROOT = Path(__file__).resolve().parents[1]
LITELLM = Path("/opt/litellm/bin/litellm")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-haiku-latest")
PRICES = {"gpt-4o-mini": (0.15, 0.6), "gpt-4o": (2.5, 10), "claude-3-5-haiku-latest": (0.8, 4)}
TARGETS = ("direct", "slicewise", "litellm")


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
            if probe(server.port, server.model, "plain")[0] == 200:
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
