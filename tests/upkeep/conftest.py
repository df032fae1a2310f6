from tests.gateway.conftest import fake_upstream, fake_upstream_session, gateway

__all__ = ["fake_upstream", "fake_upstream_session", "gateway"]
