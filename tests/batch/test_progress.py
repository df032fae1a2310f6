"""The progress line and the summary people read."""

from __future__ import annotations

import io
from decimal import Decimal

from slicewise.batch.progress import Progress, render, summary
from slicewise.batch.state import Tally


def test_progress_line_has_rate_spend_and_eta_and_stays_quiet_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(100, stream, started=0.0)
    for _ in range(25):
        progress.step(Decimal("0.01"), True)
    progress.step(None, False)
    line = progress.line(13.0)
    assert line.startswith("26/100 26%  2 req/s  $0.2500  failed 1  ETA 0:00:37")
    assert stream.getvalue() == ""  # not a terminal: only the summary is printed


def test_summary_counts_savings_and_model_mix() -> None:
    tally = Tally()
    for model, cost in (("a/cheap", "0.001"), ("a/cheap", "0.001"), ("b/dear", "0.010")):
        tally.add({"slicewise": {"model": model, "cost_usd": cost, "baseline_cost_usd": "0.010"}})
    counts = {"failed": 1, "in_doubt": 0, "invalid": 2, "not_run": 0, "this_run": 3}
    found = summary(tally, counts, 1.5)
    assert (found["cost_usd"], found["baseline_cost_usd"], found["savings_usd"]) == (
        "0.012",
        "0.030",
        "0.018",
    )
    assert found["savings_share"] == 0.6 and found["models"] == {"a/cheap": 2, "b/dear": 1}
    text = render(found, "out.jsonl", "out.failures.jsonl")
    assert "saved $0.018 (60.0% of baseline)" in text
    assert "failed 1, in doubt 0, invalid lines 2 -> out.failures.jsonl" in text
