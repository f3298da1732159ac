"""Whether a process a test started (through stager) is still running."""

from __future__ import annotations

import os
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
