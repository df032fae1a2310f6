"""A job's state rebuilt from its journal at start: what is done, failed, in doubt, and spent.

Reading the journal also rewrites the output file from the journal's ``d`` records (so an
output line cut by a crash, or one never written, is repaired) and puts back into the ledger
any answered request whose row a crash kept out of it: the ledger's rows for answered requests
have ids fixed by the job and the ``custom_id`` (``row_id``), so this is a lookup and an insert
of what is missing, never a second row.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import select

from slicewise.batch import journal
from slicewise.ledger import Ledger, Transaction
from slicewise.ledger import journal as ledger_journal
from slicewise.ledger.schema import transactions

CHUNK = 1000


def row_id(job: str, custom_id: str) -> str:
    """The ledger id of the answered request ``custom_id`` of ``job``: the same on every run."""
    digest = hashlib.blake2b(custom_id.encode(), digest_size=12).hexdigest()
    return f"batch_{job}_{digest}"


@dataclass
class Tally:
    """What the answered requests cost, for the summary."""

    requests: int = 0
    cost: Decimal = Decimal(0)
    baseline: Decimal = Decimal(0)
    unpriced: int = 0
    models: Counter[str] = field(default_factory=Counter)

    def add(self, out: dict[str, Any]) -> None:
        mine = out.get("slicewise") or {}
        self.requests += 1
        self.models[str(mine.get("model"))] += 1
        if mine.get("cost_usd") is None:
            self.unpriced += 1
        else:
            self.cost += Decimal(mine["cost_usd"])
        if mine.get("baseline_cost_usd") is not None:
            self.baseline += Decimal(mine["baseline_cost_usd"])


@dataclass
class State:
    job: str
    done: set[str] = field(default_factory=set)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Failed, not paid: tried again by the next run."""
    doubt: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Started and never finished before a crash: maybe paid, so not called again by default."""
    open: set[str] = field(default_factory=set)
    """Started lines with no outcome yet; they become ``doubt`` when the run starts."""
    submitted: list[dict[str, Any]] = field(default_factory=list)
    """Provider batches submitted and not yet collected (deferred mode)."""
    tally: Tally = field(default_factory=Tally)


def new_job() -> str:
    return os.urandom(6).hex()


def load(path: Path, output: Path, ledger: Ledger | None) -> State | None:
    """The state of the job journalled at ``path`` (``None`` if there is none yet); rewrites
    ``output`` from it and restores missing ledger rows."""
    found = journal.records(path)
    head = next(found, None)
    if head is None or "job" not in head:
        return None
    state = State(str(head["job"]))
    temporary = output.with_name(output.name + ".tmp")
    with temporary.open("wb") as sink:
        _replay(state, found, sink, ledger)
    os.replace(temporary, output)
    return state


def _replay(
    state: State, found: Iterable[dict[str, Any]], sink: BinaryIO, ledger: Ledger | None
) -> None:
    answered: list[dict[str, Any]] = []
    for record in found:
        if "s" in record:
            if record["s"] not in state.done:
                state.open.add(record["s"])
        elif "d" in record:
            _answered(state, record, sink)
            answered.append(record["t"])
            if len(answered) >= CHUNK:
                _restore(ledger, answered)
                answered = []
        elif "b" in record:
            _submission(state, record["b"])
        else:
            _ended(state, record)
    _restore(ledger, answered)


def _answered(state: State, record: dict[str, Any], sink: BinaryIO) -> None:
    custom_id = record["d"]
    state.open.discard(custom_id)
    state.failed.pop(custom_id, None)
    state.doubt.pop(custom_id, None)
    if custom_id not in state.done:
        state.done.add(custom_id)
        state.tally.add(record["o"])
        sink.write(orjson.dumps(record["o"]) + b"\n")


def _ended(state: State, record: dict[str, Any]) -> None:
    for key, into in (("f", state.failed), ("u", state.doubt)):
        if key in record and record[key] not in state.done:
            state.open.discard(record[key])
            into[record[key]] = record["o"]


def _submission(state: State, submitted: dict[str, Any]) -> None:
    if submitted.get("collected"):
        state.submitted = [s for s in state.submitted if s["id"] != submitted["id"]]
    else:
        state.submitted.append(submitted)
        state.open.difference_update(submitted.get("ids", ()))


def _restore(ledger: Ledger | None, answered: list[dict[str, Any]]) -> None:
    """Record the answered transactions the ledger lacks (a crash between journal and ledger)."""
    if ledger is None or not answered:
        return
    wanted = {tx["request_id"]: tx for tx in answered}
    query = select(transactions.c.request_id).where(transactions.c.request_id.in_(list(wanted)))
    with ledger.engine.connect() as db:
        present = {row[0] for row in db.execute(query)}
    for request_id, tx in wanted.items():
        if request_id not in present:
            ledger.record(decode(tx))


def encode(tx: Transaction) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(ledger_journal.encode(tx))
    return result


def decode(tx: dict[str, Any]) -> Transaction:
    return ledger_journal.decode(orjson.dumps(tx))
