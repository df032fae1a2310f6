"""Run untrusted Python (a model's code and its tests) in a fresh, fenced interpreter.

The fences, each cheap and none sufficient alone:

- a new process, ``python -I`` (no user site, no ``PYTHON*`` variables, no current directory on
  the path), in an empty temporary directory with an empty environment;
- no network: inside a new network namespace (``unshare -rn``) where the kernel allows it, and
  always an audit hook installed before the code runs that refuses sockets, subprocesses and
  ``exec`` (an audit hook cannot be removed from inside the interpreter);
- limits: CPU seconds, address space (1 GiB), file size (16 MiB), open files and processes;
- a wall-clock timeout, after which the whole process group is killed.

This keeps an honest mistake (an endless loop, a stray download) from harming the machine or
leaking data. It is not a jail for hostile code: a determined program can still read files the
user can read. Run probe sets you trust, or run ``slicewise profile`` inside a container.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MEMORY_BYTES = 1 << 30
FILE_BYTES = 16 << 20
OPEN_FILES = 64

GUARD = """import sys as _sys
_DENIED = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
           "os.fork", "os.forkpty", "pty.", "ctypes.")
def _guard(event, args):
    if event.startswith(_DENIED):
        raise PermissionError(f"{event} is not allowed in the grading sandbox")
_sys.addaudithook(_guard)
del _guard
"""


@dataclass(frozen=True)
class RunResult:
    returncode: int
    timed_out: bool
    last_error: str
    """The last line of stderr (the exception), cut to 200 characters."""


async def run_python(source: str, timeout_s: float) -> RunResult:
    """Run ``source`` as a script in the sandbox; never raises for what the code does."""
    return await asyncio.to_thread(_run, source, timeout_s)


def _run(source: str, timeout_s: float) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="slicewise-grade-") as folder:
        script = Path(folder) / "solution.py"
        script.write_text(GUARD + "\n" + source)
        process = subprocess.Popen(
            [*_isolation(), sys.executable, "-I", "-B", str(script)],
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_limits(timeout_s),
        )
        try:
            _, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill(process)
            return RunResult(-signal.SIGKILL, True, "")
    lines = err.decode(errors="replace").strip().splitlines()
    return RunResult(process.returncode, False, lines[-1][:200] if lines else "")


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


@functools.cache
def _isolation() -> tuple[str, ...]:
    """``unshare -rn`` when this kernel lets an unprivileged user make a network namespace."""
    tool = shutil.which("unshare")
    if tool is None or not _succeeds([tool, "-rn", "true"]):
        return ()
    return (tool, "-rn")


def _succeeds(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=5, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _limits(timeout_s: float) -> Callable[[], None]:
    def apply() -> None:
        import resource

        cpu = int(timeout_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))

    return apply
