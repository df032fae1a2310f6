from __future__ import annotations

from tests.fakes.fixtures import fake_upstream, fake_upstream_session

__all__ = ["fake_upstream", "fake_upstream_session"]
