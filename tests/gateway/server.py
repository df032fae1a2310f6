"""The real gateway app served by uvicorn on a loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType

import uvicorn

from slicewise.config import Config
from slicewise.gateway.app import create_app
from tests.fakes.upstream import listen


class GatewayServer:
    def __init__(self, config: Config, env: dict[str, str] | None = None):
        self.app = create_app(config, env or {})
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def gateway(self):  # type: ignore[no-untyped-def]
        return self.app.state.gateway

    def __enter__(self) -> GatewayServer:
        sock = listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                lifespan="on",
                log_config=None,
                access_log=False,
                ws="none",
                timeout_graceful_shutdown=3,
            )
        )
        server = self._server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve([sock])), name="gateway"
        )
        self._thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start; see the log above")
            time.sleep(0.005)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=15)
