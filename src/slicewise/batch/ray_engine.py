"""The Ray engine (``--engine ray``): not built yet.

Known shortcoming: the plan is the local engine's loop spread over Ray actors (routing by
chunks in tasks, calls in worker actors, the buckets of ``batch.limits`` in one actor, the
journal kept by the driver); until then ``--engine ray`` says so instead of running.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slicewise.batch.job import Options
from slicewise.config import Config
from slicewise.errors import ConfigError


async def run(
    options: Options, config: Config, env: Mapping[str, str] | None, address: str | None
) -> dict[str, Any]:
    raise ConfigError(
        "--engine ray is not available in this build; use --engine local (the default), "
        "which runs the same job in one process"
    )
