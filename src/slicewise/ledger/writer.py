"""Who writes journalled transactions to the database: a thread, or a child process.

Both take transactions in the order they were journalled, insert them in batches, and report
progress as ``committed(count, ok)``: the first ``count`` transactions handed over are now in
the database (``ok`` is False if any row of the batch failed). The ledger retires journal
segments and wakes ``flush`` callers from that count.

``ThreadWriter`` inserts in a thread of the gateway's process. Building and executing a batch
holds the interpreter for milliseconds, so requests in flight wait behind it: the p99 of a
busy gateway roughly doubles. ``ProcessWriter`` hands the journal lines to a child process
(``python -m slicewise.ledger URL``) over a pipe and reads its acknowledgements back;
the gateway's own share is one ``os.write`` per batch. The child runs at a lower priority, so
on a saturated machine the request loop comes first. If the child dies, rows stay in the
journal until the next start replays them (a respawn that re-sends them is not done yet).
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Insert

from slicewise.ledger import journal
from slicewise.ledger.record import Transaction

logger = logging.getLogger(__name__)

BATCH = 1024
_STOP = object()
Committed = Callable[[int, bool], None]
Write = Callable[[Engine, Insert, list[Transaction]], bool]


class ThreadWriter:
    def __init__(self, engine: Engine, insert: Insert, write: Write, committed: Committed):
        self._engine, self._insert, self._write = engine, insert, write
        self._committed = committed
        self._count = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="slicewise-ledger", daemon=True)
        self._thread.start()

    def put(self, tx: Transaction, line: bytes) -> None:
        self._queue.put(tx)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            batch, stop = _take(self._queue)
            if batch:
                ok = self._write(self._engine, self._insert, batch)
                self._count += len(batch)
                self._committed(self._count, ok)
            if stop:
                return


class ProcessWriter:
    def __init__(self, url: str, committed: Committed):
        self._committed = committed
        self._child = subprocess.Popen(
            [sys.executable, "-m", "slicewise.ledger", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            preexec_fn=lambda: os.nice(5),  # the request loop first on a busy machine
        )
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send, name="slicewise-ledger-send")
        self._reader = threading.Thread(target=self._read, name="slicewise-ledger-acks")
        self._sender.daemon = self._reader.daemon = True
        self._sender.start()
        self._reader.start()

    def put(self, tx: Transaction, line: bytes) -> None:
        self._queue.put(line)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._sender.join()
        self._reader.join()
        self._child.wait()

    def _send(self) -> None:
        assert self._child.stdin is not None
        pipe = self._child.stdin.fileno()
        while True:
            lines, stop = _take(self._queue)
            try:
                _write_all(pipe, b"".join(lines))
            except (BrokenPipeError, OSError):
                logger.error("ledger writer process is gone; rows stay in the journal")
                stop = True
            if stop:
                self._child.stdin.close()
                return

    def _read(self) -> None:
        assert self._child.stdout is not None
        with self._child.stdout as acks:
            for ack in acks:
                count, ok = ack.split()
                self._committed(int(count), ok == b"1")
        if self._child.wait() != 0:
            logger.error("ledger writer process exited with %d", self._child.returncode)


def _take(source: queue.SimpleQueue[Any]) -> tuple[list[Any], bool]:
    """What has queued up (at most ``BATCH``), and whether to stop after it."""
    batch = [source.get()]
    while len(batch) < BATCH:
        try:
            batch.append(source.get_nowait())
        except queue.Empty:
            break
    if batch[-1] is _STOP:
        return batch[:-1], True
    return batch, False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def child(url: str) -> None:
    """The child's loop: journal lines on stdin, ``COUNT OK`` acknowledgements on stdout."""
    from slicewise.ledger.engine import open_engine  # the child's own; store imports this module
    from slicewise.ledger.store import insert_ignoring_duplicates, write

    engine = open_engine(url)
    insert = insert_ignoring_duplicates(engine)
    count, rest = 0, b""
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer
    while chunk := os.read(stdin, 1 << 20):
        *lines, rest = (rest + chunk).split(b"\n")
        for start in range(0, len(lines), BATCH):
            batch = [journal.decode(line) for line in lines[start : start + BATCH]]
            ok = write(engine, insert, batch)
            count += len(batch)
            stdout.write(b"%d %d\n" % (count, ok))
            stdout.flush()
    engine.dispose()
