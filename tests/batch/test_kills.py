"""SIGKILL a batch run at random points, rerun until done: nothing twice, nothing lost."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.batch.conftest import ENV, batch_config
from tests.batch.kills import kill_and_rerun
from tests.fakes.upstream import FakeUpstream

NUMBER = re.compile(r"\(#(\d+)\)")


def test_killed_runs_never_pay_twice(
    fake_upstream: FakeUpstream, requests_file: object, tmp_path: Path
) -> None:
    fake_upstream.latency_ms = 40
    source = requests_file(400, "openai/gpt-4o-mini")  # type: ignore[operator]
    config = batch_config(fake_upstream, tmp_path, batch={"fsync": True})
    found = kill_and_rerun(config, source, tmp_path / "out.jsonl", 2, seed=8, env=ENV)
    ids = {f"r{i}" for i in range(400)}
    assert set(found.answered) | set(found.failed) == ids
    assert not set(found.answered) & set(found.failed)
    assert max(found.answered.values()) == 1 and max(found.failed.values(), default=1) == 1
    assert sum(found.failed.values()) == found.in_doubt  # every failure is a call in doubt
    assert found.paid_rows == found.answered  # one ledger row per answer, none twice
    received = Counter(
        m.group(1) for r in fake_upstream.requests if (m := NUMBER.search(str(r.body)))
    )
    assert max(received.values()) == 1  # the fake was never asked for a custom_id twice
    answered = {c.removeprefix("r") for c in found.answered}
    assert answered <= set(received)  # and a call in doubt may never have left
    assert found.kills >= 2, "the runs ended before they were killed: make the job longer"
    print(f"kills {found.kills}, in doubt {found.in_doubt}, received {len(received)}")
