"""A scripted fake OpenAI and Anthropic upstream, served for real on loopback.

In a test (uvicorn serves the app in a background thread; the port is free and bound before
``start`` returns)::

    with FakeUpstream(models=["gpt-4o-mini"]) as fake:
        fake.script(status(429, retry_after=0.1), ok("hello"))
        ...  # point a client at fake.url + "/v1" (OpenAI) or fake.url (Anthropic)
        assert fake.requests[-1].body["model"] == "gpt-4o-mini"

From a shell, for benchmarks (prints its URL once listening; Ctrl-C or SIGTERM stops it)::

    python -m tests.fakes.upstream --port 8900 --latency-ms 0

``spawn`` does the same as a subprocess from Python. A subprocess answers every call with the
default behaviour after ``latency_ms``: scripts and recorded requests live in the test process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import uvicorn

from tests.fakes.app import FakeApp
from tests.fakes.asgi import Received, fingerprint
from tests.fakes.script import (
    Behaviour,
    ToolCall,
    cut,
    delay,
    hang,
    malformed,
    ok,
    stall,
    status,
)

__all__ = [
    "MODELS",
    "Behaviour",
    "FakeUpstream",
    "Received",
    "ToolCall",
    "cut",
    "delay",
    "fingerprint",
    "hang",
    "malformed",
    "ok",
    "spawn",
    "stall",
    "status",
]

MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-haiku-latest", "claude-sonnet-4-5")
ROOT = Path(__file__).resolve().parents[2]


class FakeUpstream:
    """The fake upstream as a context manager; see the module docstring."""

    def __init__(
        self,
        models: Sequence[str] = MODELS,
        latency_ms: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
    ) -> None:
        self.app = FakeApp(models, latency_ms, record)
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.url = ""

    @property
    def requests(self) -> list[Received]:
        """Every request received so far, oldest first."""
        return self.app.requests

    @property
    def calls(self) -> Counter[str]:
        """Chat calls per model id (batch items included)."""
        return self.app.calls

    def script(self, *behaviours: Behaviour, model: str | None = None) -> None:
        """Queue behaviours for the next chat calls, of ``model`` only or of any model."""
        self.app.script.add(*behaviours, model=model)

    @property
    def default(self) -> Behaviour:
        """What a chat call does when no behaviour is queued for it (``ok()`` to begin with)."""
        return self.app.script.default

    @default.setter
    def default(self, behaviour: Behaviour) -> None:
        self.app.script.default = behaviour

    @property
    def latency_ms(self) -> float:
        return self.app.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self.app.latency_ms = value

    def reset(self) -> None:
        """Forget scripts, requests, counts, files, batches; back to ``ok()``, first latency."""
        self.app.reset()

    def start(self) -> FakeUpstream:
        if self._thread is not None:
            raise RuntimeError("this FakeUpstream is already running")
        sock = listen(self._host, self._port)
        self.url = f"http://{self._host}:{sock.getsockname()[1]}"
        self._server = uvicorn.Server(config(self.app))
        self._thread = threading.Thread(target=self._run, args=(sock,), name="fake-upstream")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake upstream did not start; see the log above")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Answer hanging calls with a 503, end waits early, close connections, join."""
        if self._thread is None or self._loop is None or self._server is None:
            return
        self._loop.call_soon_threadsafe(self._closing)
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError("the fake upstream did not stop within 10 s")
        self._thread = self._loop = self._server = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, sock: socket.socket) -> None:
        asyncio.run(self._serve(sock))

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        self._loop = asyncio.get_running_loop()
        self.app.closing = asyncio.Event()
        await self._server.serve(sockets=[sock])

    def _closing(self) -> None:
        assert self._server is not None
        self.app.closing.set()
        self._server.should_exit = True


def config(app: FakeApp) -> uvicorn.Config:
    """Uvicorn settings for the fake: quiet, no lifespan, no websockets, fast shutdown."""
    return uvicorn.Config(
        app,
        interface="asgi3",
        lifespan="off",
        ws="none",
        loop="asyncio",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )


def listen(host: str, port: int) -> socket.socket:
    # The explicit protocol matters: asyncio turns Nagle off only on sockets whose ``proto`` is
    # TCP, and with Nagle on, every answer sent in two writes waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


@contextlib.contextmanager
def spawn(latency_ms: float = 0.0, models: Sequence[str] = MODELS) -> Iterator[str]:
    """Run the fake in a subprocess on a free port; yields its URL, stops it on exit."""
    command = [
        sys.executable,
        "-m",
        "tests.fakes.upstream",
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
        "--models",
        ",".join(models),
    ]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            if not url.startswith("http://"):
                raise RuntimeError(f"the fake upstream subprocess did not start: {url!r}")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.upstream", description="Serve the scripted fake upstream."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="wait before each chat answer (default 0)"
    )
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated model ids")
    args = parser.parse_args(argv)
    app = FakeApp(args.models.split(","), args.latency_ms, record=False)
    sock = listen(args.host, args.port)
    print(f"http://{args.host}:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config(app)).run(sockets=[sock])


if __name__ == "__main__":
    main()
