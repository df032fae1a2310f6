"""The progress line on stderr (rate, spend, ETA) and the summary at the end of a run.

The line redraws itself at most a few times a second, and only when stderr is a terminal; the
summary is always printed, so a log file of a cron job still says what the run did.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from slicewise.batch.state import Tally

REDRAW = 0.25


@dataclass
class Progress:
    total: int
    """Requests the run has to do (done in earlier runs excluded)."""
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    live: bool | None = None
    finished: int = 0
    failed: int = 0
    spent: Decimal = Decimal(0)
    started: float = field(default_factory=time.monotonic)
    _drawn: float = 0.0

    def __post_init__(self) -> None:
        if self.live is None:
            self.live = self.stream.isatty()

    def step(self, cost: Decimal | None, ok: bool) -> None:
        self.finished += 1
        self.failed += not ok
        self.spent += cost or 0
        now = time.monotonic()
        if self.live and now - self._drawn >= REDRAW:
            self._drawn = now
            self.stream.write("\r" + self.line(now) + "\x1b[K")
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.finished / elapsed
        left = max(self.total - self.finished, 0)
        eta = _clock(left / rate) if rate > 0 else "?"
        share = f"{100 * self.finished / self.total:.0f}%" if self.total else "-"
        return (
            f"{self.finished:,}/{self.total:,} {share}  {rate:,.0f} req/s  "
            f"${self.spent:.4f}  failed {self.failed:,}  ETA {eta}"
        )

    def close(self) -> None:
        if self.live and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def summary(tally: Tally, counts: dict[str, int], seconds: float) -> dict[str, Any]:
    """The job's totals (every run of it) as JSON-safe values."""
    saved = tally.baseline - tally.cost
    share = None if not tally.baseline else float(saved / tally.baseline)
    return {
        "requests": tally.requests,
        "cost_usd": format(tally.cost, "f"),
        "baseline_cost_usd": format(tally.baseline, "f"),
        "savings_usd": format(saved, "f"),
        "savings_share": None if share is None else round(share, 4),
        "unpriced": tally.unpriced,
        "models": dict(tally.models.most_common()),
        **counts,
        "seconds": round(seconds, 3),
    }


def render(found: dict[str, Any], output: str, failures: str) -> str:
    """The summary for people."""
    share = found["savings_share"]
    saved = "" if share is None else f" ({100 * share:.1f}% of baseline)"
    mix = ", ".join(f"{m} {n:,}" for m, n in found["models"].items()) or "none"
    lines = [
        f"answered {found['requests']:,} requests -> {output} "
        f"({found['this_run']:,} finished by this run, in {found['seconds']:.1f} s)",
        f"cost ${found['cost_usd']}  baseline ${found['baseline_cost_usd']}  "
        f"saved ${found['savings_usd']}{saved}",
        f"models: {mix}",
        f"failed {found['failed']:,}, in doubt {found['in_doubt']:,}, invalid lines "
        f"{found['invalid']:,} -> {failures}",
    ]
    if found.get("not_run"):
        lines.append(f"not run (--max-cost reached): {found['not_run']:,}; rerun to continue")
    if found.get("unpriced"):
        lines.append(f"{found['unpriced']:,} answers from models without a known price")
    return "\n".join(lines)
