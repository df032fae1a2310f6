"""Running the gateway under uvicorn, with one or more worker processes."""

from __future__ import annotations

import os

from starlette.applications import Starlette

from slicewise.config import load_config
from slicewise.gateway.app import create_app

CONFIG_ENV = "SLICEWISE_CONFIG"


def app_from_env() -> Starlette:
    """App factory for uvicorn workers: the configuration path comes from the environment."""
    return create_app(load_config(os.environ.get(CONFIG_ENV) or None))


def serve(config: str | None, host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    load_config(config)  # fail here, with a clear message, rather than in every worker
    if config is not None:
        os.environ[CONFIG_ENV] = os.path.abspath(config)
    uvicorn.run(
        "slicewise.gateway.serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
