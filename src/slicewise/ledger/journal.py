"""The ledger's journal: every transaction appended as one JSON line before the client hears
back, so a killed gateway loses nothing it answered.

A journal is a directory of segment files. Each gateway process appends to its own segment
(``os.write`` on an ``O_APPEND`` descriptor: one system call, no lock on the disk) and holds an
exclusive ``flock`` on it while it lives. The ledger's writer seals a segment once it has grown,
and deletes it after every row in it is committed. At start, segments no live process holds
are the remains of a crash: they are replayed into the database (rows already there are
skipped) and then deleted.

By default a line reaches the operating system, not the disk: it survives the process being
killed (SIGKILL, OOM, a crash) but not a power cut or kernel panic. ``fsync=True`` syncs every
line before the response goes out, at the cost of a disk flush per request (milliseconds on most
disks); a group commit across requests would make that cheaper and is not done yet.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from slicewise.ledger.record import Transaction

logger = logging.getLogger(__name__)

SEGMENT_BYTES = 4 << 20
"""A segment is sealed (and deleted once committed) after about this many bytes."""
_FIELDS = frozenset(f.name for f in fields(Transaction))


@dataclass(frozen=True)
class Segment:
    path: Path
    fd: int


def encode(tx: Transaction) -> bytes:
    return orjson.dumps(tx, default=_exact) + b"\n"


def decode(line: bytes) -> Transaction:
    data = {k: v for k, v in orjson.loads(line).items() if k in _FIELDS}
    for key in ("cost_usd", "baseline_cost_usd"):
        if data.get(key) is not None:
            data[key] = Decimal(data[key])
    for key in ("candidates", "fallbacks"):
        data[key] = tuple(data.get(key) or ())
    return Transaction(**data)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Journal:
    """This process's segments in ``directory``; callers serialise ``append`` and ``rotate``."""

    def __init__(self, directory: Path, fsync: bool = False):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.fsync = fsync
        self.size = 0
        self.name = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._number = 0
        self.current = self._open()

    def append(self, line: bytes) -> None:
        os.write(self.current.fd, line)
        if self.fsync:
            os.fdatasync(self.current.fd)
        self.size += len(line)

    def rotate(self) -> Segment:
        """Start a new segment; returns the sealed one for ``retire`` once it is committed."""
        sealed, self.current, self.size = self.current, self._open(), 0
        return sealed

    def _open(self) -> Segment:
        # created under a temporary name and locked before it gets its final one, so a
        # replaying process never takes a live segment for a crashed one
        self._number += 1
        name = f"{self.name}-{self._number:06d}"
        temporary = self.directory / f"{name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = self.directory / f"{name}.jsonl"
        os.rename(temporary, path)
        return Segment(path, fd)


def retire(segment: Segment, committed: bool) -> None:
    """Close a sealed segment; delete it if every row in it is committed, else keep it for
    the next start to replay."""
    if committed:
        segment.path.unlink(missing_ok=True)
    else:
        logger.warning("ledger journal %s kept: some rows failed to commit", segment.path)
    os.close(segment.fd)


def orphans(directory: Path) -> Iterator[Segment]:
    """Segments no live process holds, each locked for the caller until it ``retire``s it."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.jsonl")) + sorted(directory.glob("*.tmp")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # another process replayed it first
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live process is writing it
            os.close(fd)
            continue
        yield Segment(path, fd)


def forget_progress(directory: Path) -> None:
    """Delete the writer progress files (see ``ledger.writer``) of processes that are gone: a
    live process always has a segment of its own."""
    for path in directory.glob("*.progress"):
        if not any(directory.glob(f"{path.stem}-*")):
            path.unlink(missing_ok=True)


def read(segment: Segment) -> list[Transaction]:
    """The whole lines of a segment; a torn last line (the process died mid-write) is dropped."""
    with open(segment.fd, "rb", closefd=False) as file:
        lines = file.read().split(b"\n")
    if lines[-1]:
        logger.warning("ledger journal %s: dropped a torn last line", segment.path)
    found = []
    for line in lines[:-1]:
        try:
            found.append(decode(line))
        except (orjson.JSONDecodeError, TypeError, ValueError):
            logger.warning("ledger journal %s: skipped an unreadable line", segment.path)
    return found
