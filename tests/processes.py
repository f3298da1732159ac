"""Whether a process a test started (through stager) is still running."""

from __future__ import annotations

import os
import time
from pathlib import Path


def gone(pid: int) -> bool:
    """The process has ended; a zombie that no parent reaped yet has ended too."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return stat.rpartition(")")[2].split()[0] in {"Z", "X"}


def ends_soon(pid: int, seconds: float = 10.0) -> bool:
    """The process ends within ``seconds``: a killed process in uninterruptible sleep
    (a loaded disk) dies only when its I/O returns, and an orphan waits for init."""
    deadline = time.monotonic() + seconds
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
