from __future__ import annotations

import pytest

from tests.fakes.fixtures import fake_upstream, fake_upstream_session

__all__ = ["anyio_backend", "fake_upstream", "fake_upstream_session"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiohttp runs on asyncio only, and whole calls are bounded by asyncio.timeout
