"""SIGKILL the real gateway under load: every answer a client got has its ledger row after a
restart (the journal carries what the database had not committed yet)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import yaml

from tests.fakes.upstream import ROOT, spawn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with spawn(latency_ms=5) as url:
        yield url


def config(path: Path, upstream: str) -> Path:
    raw = {
        "providers": {"openai": {"kind": "openai", "base_url": upstream + "/v1", "key_env": "K"}},
        "models": [
            {"name": "openai/gpt-4o-mini", "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6}
        ],
        "ledger": {"url": f"sqlite:///{path}/ledger.db", "journal": str(path / "journal")},
    }
    file = path / "slicewise.yaml"
    file.write_text(yaml.safe_dump(raw))
    return file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(file: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "slicewise.cli.main", "serve", "--config", str(file)]
    env = {**os.environ, "K": "sk-test"}
    process = subprocess.Popen([*command, "--port", str(port)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the gateway did not start in 30 s")


def load(port: int, received: list[str], stop: threading.Event) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        while not stop.is_set():
            try:
                response = client.post("/v1/chat/completions", json=body)
            except httpx2.TransportError:
                return
            if response.status_code == 200:
                received.append(response.headers["x-slicewise-request-id"])


def stored(path: Path) -> set[str]:
    with sqlite3.connect(path / "ledger.db") as db:
        return {row[0] for row in db.execute("SELECT request_id FROM transactions")}


def test_sigkill_under_load_loses_no_answered_transaction(tmp_path: Path, upstream: str) -> None:
    file, port = config(tmp_path, upstream), free_port()
    gateway = start(file, port)
    # hold the database's write lock meanwhile, so the kill finds answered rows uncommitted
    blocker = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    received: list[str] = []
    stop = threading.Event()
    clients = [threading.Thread(target=load, args=(port, received, stop)) for _ in range(16)]
    for client in clients:
        client.start()
    while len(received) < 300:
        time.sleep(0.01)
    gateway.send_signal(signal.SIGKILL)
    gateway.wait()
    blocker.execute("ROLLBACK")
    blocker.close()
    stop.set()
    for client in clients:
        client.join()

    before = stored(tmp_path)
    restarted = start(file, port)  # replays the journal at startup
    restarted.terminate()
    assert restarted.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    assert set(received).isdisjoint(before)
    missing = set(received) - stored(tmp_path)
    assert not missing, f"{len(missing)} of {len(received)} answered requests have no row"
    print(f"{len(received)} answered, {len(set(received) - before)} recovered from the journal")
    assert list((tmp_path / "journal").iterdir()) == []
