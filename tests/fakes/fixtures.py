"""Pytest fixtures for the fake upstream; a conftest takes them with
``from tests.fakes.fixtures import fake_upstream, fake_upstream_session``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.upstream import FakeUpstream


@pytest.fixture(scope="session")
def fake_upstream_session() -> Iterator[FakeUpstream]:
    """One fake upstream for the whole session (starting one costs about 0.2 s)."""
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def fake_upstream(fake_upstream_session: FakeUpstream) -> FakeUpstream:
    """The session's fake upstream, with nothing scripted, received or counted yet."""
    fake_upstream_session.reset()
    return fake_upstream_session
