"""The progress journal: what a batch job started, finished and failed, kept on disk.

One JSON object a line, appended, beside the output (``OUTPUT.journal``)::

    {"job": "...", "input": "..."}           the job, once, first
    {"s": custom_id}                         a call is about to go upstream
    {"d": custom_id, "o": {...}, "t": {...}}  it was answered: output line, ledger transaction
    {"f": custom_id, "o": {...}}             it failed (not paid); a rerun tries it again
    {"u": custom_id, "o": {...}}             in doubt: started before a crash, never finished
    {"b": {...}}                             a provider batch was submitted (deferred mode)

Lines are written by one task and synced to disk (``fsync``) in groups: every line that queued
while the previous sync ran goes out in the next write, so a thousand calls a second cost a few
syncs, not a thousand. ``append`` returns once its line is on disk, so a ``s`` line is durable
before the call leaves and a ``d`` line before the ledger row is written. A line cut short by a
crash (the last one) is ignored when the journal is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

Record = dict[str, Any]


def path_for(output: Path) -> Path:
    return output.with_name(output.name + ".journal")


def records(path: Path) -> Iterator[Record]:
    """Every whole record of the journal at ``path``, oldest first (none if it is absent)."""
    if not path.exists():
        return
    with path.open("rb") as lines:
        for raw in lines:
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # a line cut by a crash: it was never acknowledged
            if isinstance(record, dict):
                yield record


class Journal:
    """Appends records to ``path``; ``fsync`` makes each acknowledged line survive power loss."""

    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._repair()

    def write_now(self, record: Record) -> None:
        """Append one record at once, from synchronous code (before or after the run)."""
        os.write(self._fd, orjson.dumps(record) + b"\n")
        if self.fsync:
            os.fsync(self._fd)

    async def append(self, *records: Record) -> None:
        """Append records; returns once they are written (and synced, with ``fsync``)."""
        if self._writer is None:
            self._wake = asyncio.Event()
            self._writer = asyncio.create_task(self._write_loop())
        assert self._wake is not None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lines = b"".join(orjson.dumps(record) + b"\n" for record in records)
        self._pending.append((lines, done))
        self._wake.set()
        await done

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    def close(self) -> None:
        os.close(self._fd)

    async def _write_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            group, self._pending = self._pending, []
            if not group:
                continue
            try:
                await asyncio.to_thread(self._write, b"".join(line for line, _ in group))
            except OSError as exc:
                for _, done in group:
                    done.set_exception(exc)
                continue
            for _, done in group:
                if not done.done():
                    done.set_result(None)

    def _write(self, data: bytes) -> None:
        os.write(self._fd, data)
        if self.fsync:
            os.fsync(self._fd)

    def _repair(self) -> None:
        """End a line a crash cut short, so the next record starts on a line of its own."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with self.path.open("rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                os.write(self._fd, b"\n")
