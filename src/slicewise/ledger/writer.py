"""Who writes journalled transactions to the database: a child process, or a thread.

Both take the transactions in journal order, insert them in batches, retire journal segments
once every row in them is committed, and let ``wait`` block until a given number of recorded
transactions is in the database.

``ProcessWriter`` (the gateway's default) starts ``python -m slicewise.ledger URL DIR NAME``,
which reads this process's journal segments (``DIR/NAME-*.jsonl``) as they grow, commits each
new whole line, deletes a segment once a newer one exists and all of its rows are committed,
and publishes how many rows it has committed in ``DIR/NAME.progress``. The gateway's process
then does nothing for the ledger beyond appending the line to its journal: no thread of its own
wakes per request, so the request loop never hands the interpreter over (a thread that wakes
per request costs a lock hand-off each time, which doubled the p99 of a busy gateway). The
child polls every ``POLL`` seconds when idle and runs only on CPU time nothing else wants
(``SCHED_IDLE``: a core kept fully busy leaves its rows in the journal, on disk, until it has
a moment); on end of input (the gateway closing) it commits what is left and exits. If it
dies, its rows wait in the journal and another child is started at the next new segment or
the next ``wait`` (a report, a flush); a gateway's start replays what any dead process left.

``ThreadWriter`` inserts from a thread of the gateway's process (``ledger.writer: thread``).
"""

from __future__ import annotations

import logging
import os
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert

from slicewise.ledger import journal
from slicewise.ledger.record import Transaction

logger = logging.getLogger(__name__)

BATCH = 1024
POLL = 0.02
"""Seconds the writer process sleeps when the journal has nothing new."""
RESPAWN = 1.0
"""Seconds at least between two starts of a writer process (one that dies at once is not
started in a loop)."""
_STOP = object()
_PROGRESS = struct.Struct("<qq")  # rows committed, rows that failed
Write = Callable[[Engine, Insert, list[Transaction]], bool]


class ProcessWriter:
    def __init__(self, url: str, current: journal.Journal):
        self._command = [
            sys.executable,
            "-m",
            "slicewise.ledger",
            url,
            str(current.directory),
            current.name,
        ]
        self._progress = current.directory / f"{current.name}.progress"
        self._sealed: deque[tuple[Path, int]] = deque()
        """Sealed segments the child has not deleted yet, each with the count up to its end."""
        self._deleted = 0
        """The count up to the end of the newest segment known to be deleted."""
        self._base = 0
        """Rows the current child does not see: those of segments deleted before it started."""
        self._child = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        self._started = time.monotonic()
        self._progress.write_bytes(_PROGRESS.pack(0, 0))
        return subprocess.Popen(self._command, stdin=subprocess.PIPE, preexec_fn=_idle)

    def put(self, tx: Transaction) -> None:
        pass  # the child reads the journal itself

    def sealed(self, segment: journal.Segment, count: int) -> None:
        os.close(segment.fd)  # the child deletes it once its rows are committed
        self._sealed.append((segment.path, count))
        self._prune()
        self._revive()

    def _prune(self) -> None:
        while self._sealed and not self._sealed[0][0].exists():
            self._deleted = self._sealed.popleft()[1]

    def _revive(self) -> None:
        """Start another child if this one died (checked at each new segment and each wait).
        The new one reads the segments still there from their start: rows the dead one
        committed there are skipped by the database and counted again, so its count adds to
        the rows of the segments deleted before it started."""
        code = self._child.poll()
        if code is None or time.monotonic() - self._started < RESPAWN:
            return
        self._prune()  # the child deletes in order, and a dead one deletes nothing more
        self._base = self._deleted
        logger.error("ledger writer process exited with %d; starting another", code)
        if self._child.stdin is not None:
            self._child.stdin.close()
        self._child = self._spawn()

    def wait(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.committed()[0] < count and time.monotonic() < deadline:
            self._revive()
            time.sleep(POLL / 4)

    def committed(self) -> tuple[int, int]:
        """Rows committed, and rows of the current child that failed to commit."""
        done, failed = _PROGRESS.unpack(self._progress.read_bytes())
        return self._base + done, failed

    def close(self, current: journal.Segment, count: int) -> None:
        assert self._child.stdin is not None
        self._child.stdin.close()  # end of input: commit the rest and exit
        if self._child.wait() != 0:
            logger.error("ledger writer process exited with %d", self._child.returncode)
        os.close(current.fd)  # the child deleted it if every row is committed
        self._progress.unlink(missing_ok=True)


class ThreadWriter:
    def __init__(self, engine: Engine, insert: Insert, write: Write):
        self._engine, self._insert, self._write = engine, insert, write
        self._count = 0
        self._failed = False
        self._done = threading.Condition()
        self._sealed: deque[tuple[journal.Segment, int]] = deque()
        """Sealed segments, each with the count of transactions recorded up to its end."""
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="slicewise-ledger", daemon=True)
        self._thread.start()

    def put(self, tx: Transaction) -> None:
        self._queue.put(tx)

    def sealed(self, segment: journal.Segment, count: int) -> None:
        self._sealed.append((segment, count))

    def wait(self, count: int, timeout: float) -> None:
        with self._done:
            self._done.wait_for(lambda: self._count >= count, timeout)

    def close(self, current: journal.Segment, count: int) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        journal.retire(current, committed=self._count >= count and not self._failed)

    def _loop(self) -> None:
        while True:
            batch, stop = _take(self._queue)
            if batch:
                self._failed |= not self._write(self._engine, self._insert, batch)  # sticky
                self._retire(self._count + len(batch))
            if stop:
                return

    def _retire(self, count: int) -> None:
        while self._sealed and self._sealed[0][1] <= count:
            journal.retire(self._sealed.popleft()[0], committed=not self._failed)
        with self._done:
            self._count = count
            self._done.notify_all()


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


class Tail:
    """The child's side: one gateway process's segments, read as they grow."""

    def __init__(self, url: str, directory: Path, name: str):
        from slicewise.ledger.engine import open_engine  # the child's own; store imports us
        from slicewise.ledger.store import insert_ignoring_duplicates, write

        self.engine = open_engine(url)
        self.insert, self.write = insert_ignoring_duplicates(self.engine), write
        self.directory, self.name = directory, name
        self.progress = os.open(directory / f"{name}.progress", os.O_WRONLY)
        self.offsets: dict[Path, int] = {}
        self.done = self.failed = 0

    def run(self) -> None:
        stdin = sys.stdin.buffer.fileno()
        while True:
            closing = _closed(stdin, 0.0)
            found = self.step(closing)
            if closing:
                break
            if not found:
                _closed(stdin, POLL)  # sleep, but wake at once when the gateway closes
        self.engine.dispose()
        if self.failed:
            sys.exit(1)

    def step(self, closing: bool) -> int:
        """Commit what the segments gained; delete sealed ones. Returns rows read."""
        segments = sorted(self.directory.glob(f"{self.name}-*.jsonl"))
        read = 0
        for i, path in enumerate(segments):
            sealed = closing or i < len(segments) - 1  # a newer one exists: this one is whole
            read += self._segment(path, sealed)
        os.pwrite(self.progress, _PROGRESS.pack(self.done, self.failed), 0)
        return read

    def _segment(self, path: Path, sealed: bool) -> int:
        offset = self.offsets.get(path, 0)
        try:
            with path.open("rb") as file:
                file.seek(offset)
                chunk = file.read()
        except FileNotFoundError:  # a starting gateway replayed it (sealed, lock released)
            self.offsets.pop(path, None)
            return 0
        whole = chunk[: chunk.rfind(b"\n") + 1]
        lines = whole.splitlines()
        results = [self._commit(lines[i : i + BATCH]) for i in range(0, len(lines), BATCH)]
        ok = all(results)  # every chunk committed, no short cut
        self.offsets[path] = offset + len(whole)
        if sealed and ok and not self.failed:
            path.unlink(missing_ok=True)
            self.offsets.pop(path, None)
        return len(lines)

    def _commit(self, lines: list[bytes]) -> bool:
        ok = self.write(self.engine, self.insert, [journal.decode(line) for line in lines])
        self.done += len(lines)
        self.failed += 0 if ok else len(lines)
        return ok


def _idle() -> None:
    """The child runs only when its core has nothing else to do: a request loop sharing the
    core takes it back at once on wake-up (a niced process could hold it for milliseconds).
    Where there is no such class (not Linux) or it is refused, a lower priority."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # no such class, or a sandbox that refuses it
        os.nice(10)


def _closed(fd: int, timeout: float) -> bool:
    """Whether the gateway closed our input, waiting up to ``timeout`` seconds to know."""
    readable, _, _ = select.select([fd], [], [], timeout)
    return bool(readable) and not os.read(fd, 1)
