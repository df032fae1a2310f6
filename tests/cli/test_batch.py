"""``slicewise batch run`` from the command line: summary, exit status, clean errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import yaml

from slicewise.cli.main import main
from tests.batch.conftest import ENV, batch_config, request_line, write_lines
from tests.fakes.fixtures import fake_upstream, fake_upstream_session
from tests.fakes.upstream import FakeUpstream

__all__ = ["fake_upstream", "fake_upstream_session"]


@pytest.fixture
def setup(
    fake_upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[list[object]], tuple[Path, Path]]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "batch.yaml"
    config.write_text(yaml.safe_dump(batch_config(fake_upstream, tmp_path)))

    def make(lines: list[object]) -> tuple[Path, Path]:
        return write_lines(tmp_path / "in.jsonl", lines), config

    return make


def test_run_prints_the_summary_and_exits_0(
    setup: Callable[[list[object]], tuple[Path, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, config = setup([request_line(f"r{i}", "hello") for i in range(5)])
    out = tmp_path / "out.jsonl"
    code = main(["batch", "run", str(source), "--out", str(out), "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 0
    assert f"answered 5 requests -> {out}" in err and "saved $" in err and "models:" in err
    assert (
        main(["batch", "run", str(source), "--out", str(out), "--config", str(config), "--json"])
        == 0
    )
    found = orjson.loads(capsys.readouterr().out)
    assert (found["requests"], found["this_run"]) == (5, 0)


def test_a_wrong_line_is_reported_with_its_place_and_exits_1(
    setup: Callable[[list[object]], tuple[Path, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, config = setup([request_line("a", "hi"), {**request_line("b", "x"), "url": "/v1/x"}])
    code = main(
        ["batch", "run", str(source), "--out", str(tmp_path / "o.jsonl"), "--config", str(config)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert f"{source}:2: url: '/v1/x' is not supported; use /v1/chat/completions" in err
    assert "Traceback" not in err


def test_bad_options_are_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["batch", "run", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")])
    assert code == 2 and "no such input file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["batch", "run", "x.jsonl", "--out", "o.jsonl", "--max-cost", "lots"])
