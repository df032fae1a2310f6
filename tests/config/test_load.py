from __future__ import annotations

from pathlib import Path

import pytest

from slicewise.cli.main import main
from slicewise.config import load_config
from slicewise.config.default import default_config
from slicewise.errors import ConfigError

GOOD = """\
providers:
  openai:
    kind: openai
    base_url: http://127.0.0.1:9/v1
    key_env: TEST_OPENAI_KEY
models:
  - name: openai/gpt-4o-mini
  - name: openai/house-model
    input_usd_per_mtok: 0.2
    output_usd_per_mtok: 0.4
routes:
  auto:
    target: "0.9"
    candidates: [openai/gpt-4o-mini, openai/house-model]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slicewise.yaml"
    path.write_text(text)
    return path


def test_loads_a_good_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.providers["openai"].key_env == "TEST_OPENAI_KEY"
    assert [m.name for m in config.models] == ["openai/gpt-4o-mini", "openai/house-model"]
    assert config.routes["auto"].target == "0.9"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kind: openai", "kind: azure"), ":3: providers.openai.kind: Input should be 'openai'"),
        (
            ("base_url: http://127.0.0.1:9/v1", "base_url: 127.0.0.1"),
            ":4: providers.openai.base_url: must start with http:// or https://",
        ),
        (
            ("input_usd_per_mtok: 0.2", "input_usd_per_mtok: -1"),
            ":9: models[1].input_usd_per_mtok: Input should be greater than or equal to 0",
        ),
        (("target:", "targte:"), ":13: routes.auto.targte: unknown field"),
        (
            ("openai/house-model]", "openai/nope]"),
            ":14: routes.auto.candidates[1]: model 'openai/nope' is not configured",
        ),
        (
            ("  - name: openai/gpt-4o-mini", "  - name: gpt-4o-mini"),
            ":7: models[0].name: 'gpt-4o-mini' must be written provider/model",
        ),
    ],
)
def test_errors_name_line_and_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}{expected}" in str(caught.value)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai: [unclosed\n")
    with pytest.raises(ConfigError, match=r"slicewise.yaml:\d+: not valid YAML"):
        load_config(path)


def test_config_check_command(tmp_path: Path, capsys) -> None:
    assert main(["config", "check", str(write(tmp_path, GOOD))]) == 0
    assert "ok: 1 providers, 2 models" in capsys.readouterr().out
    assert (
        main(["config", "check", str(write(tmp_path, GOOD.replace("kind: openai", "kind: x")))])
        == 2
    )
    assert "providers.openai.kind" in capsys.readouterr().err


def test_default_config_takes_vendors_from_the_environment() -> None:
    env = {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "ANTHROPIC_API_KEY": "sk-ant",
    }
    config = default_config(env)
    assert config.providers["openai"].base_url == "http://127.0.0.1:9/v1"
    assert config.providers["openai"].discover
    assert config.providers["anthropic"].base_url == "https://api.anthropic.com"
    assert "groq" not in config.providers
    assert "sk-test" not in config.model_dump_json()


def test_the_example_configuration_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "slicewise.yaml"
    config = load_config(example)
    assert set(config.routes) == {"auto", "support-triage"}


def test_every_wrong_reference_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "providers: {openai: {kind: openai}}\n"
        "models: [{name: openai/gpt-4o}, {name: vllm/qwen}]\n"
        "routes:\n"
        "  auto: {candidates: [local/nosuch], baseline: openai/gpt-5, router: nope.safetensors}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith("4 problems:")
    for line, field in [
        (2, "models[1].name: provider 'vllm' is not configured"),
        (4, "routes.auto.candidates[0]: model 'local/nosuch' is not configured"),
        (4, "routes.auto.router: no such router file 'nope.safetensors'"),
        (4, "routes.auto.baseline: model 'openai/gpt-5' is not configured"),
    ]:
        assert f"c.yaml:{line}: {field}" in message
