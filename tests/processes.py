"""Whether a process a test started (through stager) is still running."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name; None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except FileNotFoundError:
        return None


def started(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot); None without /proc or once it is gone.

    A pid names a process only with its start time: once it ended, the kernel may give
    the same pid to another one (pid_max is 32768 on many machines, and a busy test
    run starts thousands of processes)."""
    try:
        fields = _stat(pid)
    except OSError:
        return None
    return fields[19] if fields else None


def gone(pid: int, start: str | None = None) -> bool:
    """The process has ended; a zombie that no parent reaped yet has ended too, and so
    has ``pid`` when it now names a process that started at another time than ``start``."""
    try:
        fields = _stat(pid)
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    if fields is None:
        return True
    return fields[0] in {"Z", "X"} or (start is not None and fields[19] != start)


def ends_soon(pid: int, seconds: float = 10.0, start: str | None = None) -> bool:
    """The process ends within ``seconds``: a killed process in uninterruptible sleep
    (a loaded disk) dies only when its I/O returns, and an orphan waits for init."""
    deadline = time.monotonic() + seconds
    while not gone(pid, start):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def described(pid: int) -> str:
    """What ``pid`` is now, for a failure message: its state and command line."""
    try:
        state = (_stat(pid) or ["gone"])[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"pid {pid}: gone"
    return f"pid {pid}: state {state}, command {command!r}"
