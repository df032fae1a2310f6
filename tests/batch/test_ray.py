"""The Ray engine on a local Ray cluster: the same output, ledger and resume as the local one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from slicewise.batch import api, journal
from slicewise.config import Config
from tests.batch.conftest import ENV, read_lines
from tests.fakes.upstream import FakeUpstream

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'slicewise[ray]'")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="error")
    yield
    ray.shutdown()


def run_ray(source: Path, out: Path, config: Config) -> dict[str, object]:
    options = api.Options(source, out, concurrency=32, live=False)
    return asyncio.run(api.run_job(options, config, engine="ray", env=ENV))


def test_ray_runs_the_job_once_and_resumes(
    cluster: None,
    config: Callable[..., Config],
    requests_file: Callable[..., Path],
    tmp_path: Path,
    fake_upstream: FakeUpstream,
) -> None:
    made = config(batch={"fsync": False, "limits": {"openai": {"rpm": 6000}}})
    source, out = requests_file(60, "openai/gpt-4o-mini"), tmp_path / "out.jsonl"
    found = run_ray(source, out, made)
    assert (found["requests"], found["failed"]) == (60, 0)
    assert sorted(x["custom_id"] for x in read_lines(out)) == sorted(f"r{i}" for i in range(60))
    assert sum(fake_upstream.calls.values()) == 60
    with journal.path_for(out).open("ab") as f:
        f.write(b'{"s":"r0"}\n')  # as if a crash had left r0 in flight: it is done, so skipped
    again = run_ray(source, out, made)
    assert (again["requests"], again["in_doubt"]) == (60, 0)
    assert sum(fake_upstream.calls.values()) == 60
