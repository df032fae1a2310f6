"""One batch job's run: options, the files it keeps, and what every engine shares.

A job is named by its output file: ``OUTPUT.journal`` holds its progress (see
``batch.journal``), ``OUTPUT.failures.jsonl`` its failures. ``open_run`` rebuilds the state
from the journal, and marks the calls a crash left in flight as in doubt; ``Run.answer`` and
``Run.fail`` keep one finished request (journal first, then ledger, then output); ``close_run``
writes the failures file and returns the summary.

Paying twice: a call is journalled as started (and synced) before it leaves, and as answered
(synced) before its ledger row and output line are written. A call in flight when the process
dies has a start and no end; it may have been paid. The next run does not call it again: it
is reported in doubt (in the failures file, code ``in_doubt``) unless ``retry_in_doubt`` asks
for it, knowing the provider may bill it twice. A request that failed (no answer, nothing
paid) is tried again by the next run. With the local engine, Ctrl-C stops taking new
requests and lets the calls in flight finish, so an interrupted run leaves nothing in doubt.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from slicewise.batch import items, journal, output, state
from slicewise.batch.progress import Progress, summary
from slicewise.config import Config
from slicewise.errors import SlicewiseError
from slicewise.ledger import Ledger, NullLedger, Transaction
from slicewise.policy.rules import from_config

IN_DOUBT = (
    "started before the previous run stopped and never finished: the provider may have "
    "answered and billed it; rerun with --retry-in-doubt to call it again"
)


@dataclass(frozen=True)
class Options:
    input: Path
    output: Path
    route: str | None = None
    concurrency: int = 64
    max_cost: Decimal | None = None
    retry_in_doubt: bool = False
    tenant: str = "batch"
    live: bool | None = None
    """Draw the progress line; ``None``: when stderr is a terminal."""


@dataclass
class Run:
    options: Options
    config: Config
    ledger: Ledger
    journal: journal.Journal
    state: state.State
    sink: BinaryIO
    progress: Progress
    invalid: list[output.Line] = field(default_factory=list)
    failed: dict[str, output.Line] = field(default_factory=dict)
    not_run: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def job(self) -> str:
        return self.state.job

    def pending(self) -> Iterator[items.Item]:
        """The input's requests still to do; wrong lines are kept for the failures file."""
        skip = (
            self.state.done
            if self.options.retry_in_doubt
            else (self.state.done | self.state.doubt.keys())
        )
        policies = from_config(self.config)
        for found in items.read(self.options.input, self.options.route, policies):
            if isinstance(found, items.Invalid):
                self.invalid.append(_invalid(found, self.options.input))
            elif found.custom_id not in skip:
                yield found

    async def answer(self, custom_id: str, line: output.Line, tx: Transaction) -> None:
        """Keep an answered request: journal (synced), ledger row, output line."""
        await self.journal.append({"d": custom_id, "o": line, "t": state.encode(tx)})
        self.ledger.record(tx)
        self.sink.write(orjson.dumps(line) + b"\n")
        self.state.done.add(custom_id)
        self.state.doubt.pop(custom_id, None)
        self.failed.pop(custom_id, None)
        self.state.failed.pop(custom_id, None)
        self.state.tally.add(line)
        self.progress.step(tx.cost_usd, True)

    async def fail(self, custom_id: str, line: output.Line, tx: Transaction | None) -> None:
        await self.journal.append({"f": custom_id, "o": line})
        if tx is not None:
            self.ledger.record(tx)
        self.failed[custom_id] = line
        self.progress.step(None, False)

    @property
    def labels(self) -> Labels:
        return Labels(self.job, self.options.tenant, self.config)


@dataclass(frozen=True)
class Labels:
    """What marks a job's ledger rows, and the settings its calls need (sent to Ray actors)."""

    job: str
    tenant: str
    config: Config

    def row(self, tx: Transaction, custom_id: str, paid: bool) -> Transaction:
        """``tx`` as a batch row: its tenant, the job as key, the ``custom_id``; an answered
        request's row id is fixed by the job and ``custom_id``, so it is never written twice."""
        request_id = state.row_id(self.job, custom_id) if paid else tx.request_id
        extra = {**tx.extra, "batch": self.job, "custom_id": custom_id}
        return replace(
            tx,
            request_id=request_id,
            tenant=self.tenant,
            key_id=f"batch:{self.job}",
            extra=extra,
        )


def open_run(options: Options, config: Config) -> Run:
    settings = config.ledger
    ledger = (Ledger if settings.enabled else NullLedger)(
        settings.url, settings.journal, settings.fsync
    )
    path = journal.path_for(options.output)
    found = state.load(path, options.output, ledger)
    kept = journal.Journal(path, config.batch.fsync)
    if found is None:
        found = state.State(state.new_job())
        kept.write_now({"job": found.job, "input": str(options.input)})
        options.output.write_bytes(b"")
    _in_doubt(found, kept, options.retry_in_doubt)
    sink = options.output.open("ab")
    total = sum(1 for _ in _lines(options.input)) - len(found.done)
    progress = Progress(max(total, 0), live=options.live)
    return Run(options, config, ledger, kept, found, sink, progress)


def _in_doubt(found: state.State, kept: journal.Journal, retry: bool) -> None:
    for custom_id in sorted(found.open):
        if not retry:
            line = output.unanswered(custom_id, 0, "in_doubt", IN_DOUBT)
            kept.write_now({"u": custom_id, "o": line})
            found.doubt[custom_id] = line
    found.open.clear()


def close_run(run: Run) -> dict[str, Any]:
    """Write the failures file, close the files; the job's summary."""
    run.progress.close()
    run.sink.close()
    run.journal.close()
    run.ledger.close()
    failures = {**run.state.failed, **run.failed}
    lines = [*run.invalid, *failures.values(), *run.state.doubt.values()]
    target = output.failures_path(run.options.output)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    os.replace(temporary, target)
    counts = {
        "failed": len(failures),
        "in_doubt": len(run.state.doubt),
        "invalid": len(run.invalid),
        "not_run": run.not_run,
        "this_run": run.progress.finished,
    }
    found = summary(run.state.tally, counts, time.monotonic() - run.started)
    found["failures_file"] = str(target)
    found["invalid_lines"] = [line["error"]["message"] for line in run.invalid[:20]]
    return found


def _invalid(found: items.Invalid, path: Path) -> output.Line:
    return output.unanswered(found.custom_id, found.line, "invalid_request", found.where(path))


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as lines:
        yield from (line for line in lines if line.strip())


def refused(error: SlicewiseError) -> str:
    return getattr(error, "message", None) or str(error)
